import { formatCurve, formatTable } from './cli-table';

describe('CLI tables', () => {
  it('aligns text left and numbers right', () => {
    expect(
      formatTable(
        ['id', 'progress'],
        [
          ['a', '5%'],
          ['bcd', '100%'],
        ],
        [false, true],
      ),
    ).toBe(['id   progress', '---  --------', 'a          5%', 'bcd      100%'].join('\n'));
  });

  it('prints a curve per ε, attacks in their order and the worst case last, with n', () => {
    const table = formatCurve([
      { epsilon: 0.3, n: 100, cleanAccuracy: 0.95, robustAccuracy: { fgsm: 0.5, pgd: 0.25, suite: 0.2 } },
      { epsilon: 0, n: 100, cleanAccuracy: 0.95, robustAccuracy: { fgsm: 0.95, pgd: 0.95, suite: 0.95 } },
    ]);
    expect(table.split('\n')).toEqual([
      'epsilon    n  clean   fgsm    pgd  worst case',
      '-------  ---  -----  -----  -----  ----------',
      '      0  100  0.950  0.950  0.950       0.950',
      '    0.3  100  0.950  0.500  0.250       0.200',
    ]);
  });
});
