import { parseReportArgs, ReportOptions, UsageError } from './report-options';

const options = (args: string[], env: Record<string, string> = {}): ReportOptions => {
  const command = parseReportArgs(args, env);
  if (command.kind !== 'report') throw new Error(`expected a report command, got ${command.kind}`);
  return command.options;
};

describe('report:robustness options', () => {
  it('defaults to the whole plan against BULWARK_API or the local API, waiting, two slots per queue', () => {
    expect(options([])).toEqual({
      api: 'http://127.0.0.1:3000',
      out: 'docs',
      storePath: 'docs/robustness-store.json',
      only: undefined,
      wait: true,
      fresh: false,
      slots: { training: 2, evaluation: 2 },
      hold: [],
      retryFailed: 0,
    });
    expect(options([], { BULWARK_API: 'http://api:3000' }).api).toBe('http://api:3000');
  });

  it('reads every flag report.sh and the README use', () => {
    const args = [
      '--api',
      'http://127.0.0.1:9',
      '--out',
      'out',
      '--no-wait',
      '--fresh',
      '--only',
      'eval-a,eval-b',
      '--only=eval-c',
      '--hold',
      'x',
      '--training-slots',
      '3',
      '--evaluation-slots=1',
      '--retry-failed',
      '2',
    ];
    expect(options(args, { BULWARK_API: 'ignored' })).toEqual({
      api: 'http://127.0.0.1:9',
      out: 'out',
      storePath: 'out/robustness-store.json',
      only: ['eval-a', 'eval-b', 'eval-c'],
      wait: false,
      fresh: true,
      slots: { training: 3, evaluation: 1 },
      hold: ['x'],
      retryFailed: 2,
    });
    expect(options(['--store', 'elsewhere.json']).storePath).toBe('elsewhere.json');
  });

  it("takes a plan file of the user's own, whose report goes where --out says", () => {
    expect(options(['--plan', 'my-plan.json', '--out', 'my-report'])).toMatchObject({
      planFile: 'my-plan.json',
      out: 'my-report',
      storePath: 'my-report/robustness-store.json',
    });
    expect(options([]).planFile).toBeUndefined();
  });

  it('answers --help and -h', () => {
    expect(parseReportArgs(['--no-wait', '--help'], {})).toEqual({ kind: 'help' });
    expect(parseReportArgs(['-h'], {})).toEqual({ kind: 'help' });
  });

  it.each([
    [['--wait'], "Unknown option '--wait'"],
    [['--api'], "Option '--api <value>' argument missing"],
    [['--only', '--no-wait'], "Option '--only' argument is ambiguous"],
    [['eval-fashion-none'], "Unexpected argument 'eval-fashion-none'"],
    [['--training-slots', '0'], "--training-slots must be a positive integer, got '0'"],
    [['--evaluation-slots', 'two'], "--evaluation-slots must be a positive integer, got 'two'"],
    [['--retry-failed', '1.5'], "--retry-failed must be a positive integer, got '1.5'"],
    [['--hold', ','], '--hold needs at least one plan id'],
    [['--plan', 'my-plan.json'], '--plan needs --out DIR'],
  ])('refuses %j, naming the flag', (args, message) => {
    expect(() => parseReportArgs(args, {})).toThrow(UsageError);
    expect(() => parseReportArgs(args, {})).toThrow(message);
  });
});
