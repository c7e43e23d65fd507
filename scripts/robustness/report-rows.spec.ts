import { curveSeries, curveSvg } from './curve-figure';
import { EVALUATIONS, TRAININGS } from './plan';
import { buildRows, StoredEvaluation, StoredTraining } from './report-rows';
import { checkTargets } from './report-targets';

const planOf = (id: string) => TRAININGS.find((t) => t.id === id)!;
const evaluationPlan = (id: string) => EVALUATIONS.find((e) => e.id === id)!;

/** Wall time twice the CPU time, as with two jobs per core. */
function training(id: string, epochCpuSeconds: number[], status = 'succeeded'): StoredTraining {
  const epochSeconds = epochCpuSeconds.map((s) => 2 * s);
  return { plan: planOf(id), run: { id: `${id}-run`, status, spec: { ...planOf(id).body }, result: null, backend: null }, epochSeconds, epochCpuSeconds };
}

function evaluation(
  id: string,
  points: Array<[number, number, Record<string, number>]>,
  extra: Partial<StoredEvaluation> = {},
  result: Record<string, unknown> = {},
): StoredEvaluation {
  return {
    plan: evaluationPlan(id),
    run: { id: `${id}-run`, status: 'succeeded', spec: { seed: 0 }, result: { flags: [], ...result }, backend: null },
    curve: points.map(([epsilon, clean, robust]) => ({ epsilon, n: 1000, cleanAccuracy: clean, robustAccuracy: robust })),
    adaptiveCurve: null,
    ...extra,
  };
}

describe('robustness report rows', () => {
  const teacher = training('fashion-teacher-t20', [50, 50]);
  const student = { ...training('fashion-distillation-t20', [60, 40]), parent: teacher };
  const trainings = [training('fashion-pgd-at', [300, 300, 300]), training('fashion-fgsm-rs', [100, 100]), training('fashion-none', [40]), teacher, student];

  it('turns curve points into rows with the suite as robust accuracy and the training cost of the model', () => {
    const rows = buildRows(trainings, [evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { fgsm: 0.8, pgd: 0.76, suite: 0.73 }]])]);
    expect(rows).toEqual([
      expect.objectContaining({
        dataset: 'fashion-mnist',
        model: 'cnn-small',
        defense: 'pgd-at',
        norm: 'linf',
        epsilon: 0.1,
        attack: 'standard',
        clean: 0.86,
        robust: 0.73,
        trainSeconds: 900,
        trainWallSeconds: 1800,
        seed: 0,
        n: 1000,
        byAttack: { fgsm: 0.8, pgd: 0.76 },
        command: 'npm run report:robustness -- --only eval-fashion-pgd-at',
      }),
    ]);
  });

  it('gives a defense with an adaptive view a naive and an adaptive row, and charges distillation for its teacher', () => {
    const distilled = evaluation(
      'eval-fashion-distilled',
      [[0.1, 0.84, { suite: 0.6 }]],
      {
        adaptiveCurve: [{ epsilon: 0.1, n: 1000, cleanAccuracy: 0.84, robustAccuracy: { suite: 0.02 } }],
      },
      {
        adaptiveAttack: { bpda: [], eot: [], logitsBeforeSquash: 'softmax-output' },
        flags: [
          { flag: 'zero-or-nan-gradients', raised: true, examples: [0, 1] },
          { flag: 'iterative-weaker-than-single-step', raised: true, epsilon: 0.1, examples: [3, 4] },
          { flag: 'iterative-weaker-than-single-step', raised: true, epsilon: 0.1, examples: [7, 8, 9] },
          { flag: 'black-box-beat-white-box', raised: true, epsilon: 0.3, examples: [1] },
          { flag: 'black-box-beat-white-box', raised: false, epsilon: 0.1, examples: [] },
        ],
      },
    );
    const rows = buildRows(trainings, [distilled]);
    expect(rows.map((r) => [r.attack, r.robust, r.trainSeconds, r.flags])).toEqual([
      // Per-ε flags of the row's ε with their largest count; other ε's belong to other rows.
      ['standard-naive', 0.6, 200, ['zero-or-nan-gradients', 'iterative-weaker-than-single-step (3 examples)']],
      ['standard-logits', 0.02, 200, []],
    ]);
  });

  it('reads one row per detector and attack, plus the worst case, from the stored detection section', () => {
    const detection = {
      detectors: [
        {
          detector: { kind: 'confidence' },
          points: [
            {
              epsilon: 0.1,
              n: 1000,
              cleanAccepted: 850,
              outcomes: [{ attack: 'pgd', detectionRate: 0.4, rocAuc: 0.7, stackRobust: 300 }],
              worstCase: { stackRobust: 120 },
            },
          ],
        },
      ],
    };
    const rows = buildRows(trainings, [evaluation('eval-fashion-detectors', [[0.1, 0.9, { suite: 0 }]], {}, { detection })]);
    expect(rows.map((r) => [r.defense, r.attack, r.clean, r.robust, r.detectionRate ?? null])).toEqual([
      ['confidence-detector', 'pgd', 0.85, 0.3, 0.4],
      ['confidence-detector', 'standard+detector-aware', 0.85, 0.12, null],
    ]);
  });

  it('names the checkpoint a row measures, and flags a row whose training run ended on another one', () => {
    const same = 'a'.repeat(64);
    const other = 'b'.repeat(64);
    const pgd = { ...training('fashion-pgd-at', [300]), finalCheckpoint: { epoch: 16, sha256: same } };
    const evaluated = (sha256: string) => evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { suite: 0.72 }]], {}, { checkpoint: { epoch: 16, sha256 } });
    expect(buildRows([pgd], [evaluated(same)])).toEqual([expect.objectContaining({ checkpointSha256: same, flags: [] })]);
    expect(buildRows([pgd], [evaluated(other)])).toEqual([
      expect.objectContaining({ checkpointSha256: other, flags: ['evaluated-another-checkpoint (bbbbbbbbbbbb, run fashion- ended on aaaaaaaaaaaa)'] }),
    ]);
    // A training record from before final checkpoints were kept: nothing to compare, nothing claimed.
    expect(buildRows([training('fashion-pgd-at', [300])], [evaluated(other)])).toEqual([expect.objectContaining({ flags: [] })]);
  });

  it('falls back to wall time for a run whose epochs lack CPU time', () => {
    const old = { ...training('fashion-none', [40, 40]), epochCpuSeconds: [40] };
    const rows = buildRows([old], [evaluation('eval-fashion-none', [[0.1, 0.9, { suite: 0.03 }]])]);
    expect(rows[0]).toMatchObject({ trainSeconds: 160, trainWallSeconds: 160 });
  });

  it('leaves out evaluations of runs that did not succeed', () => {
    const failed = [training('fashion-pgd-at', [300], 'failed')];
    expect(buildRows(failed, [evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { suite: 0.73 }]])])).toEqual([]);
  });

  it('checks the targets from the rows, and says which rows are missing', () => {
    const rows = buildRows(trainings, [
      evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { suite: 0.73 }]]),
      evaluation('eval-fashion-fgsm-rs', [[0.1, 0.87, { suite: 0.69 }]]),
    ]);
    const checks = checkTargets(rows);
    expect(checks.map((c) => c.met)).toEqual([true, false, null, null]);
    expect(checks[1].detail).toContain('-4.0 points');
    expect(checks[2].detail).toContain('not measured yet: none');
  });

  it("judges the targets on the means over the seeds a method was trained at, naming each seed's figure", () => {
    const replicas = [training('fashion-pgd-at-seed1', [320, 320, 320]), training('fashion-fgsm-rs-seed1', [110, 110])];
    const rows = buildRows(
      [...trainings, ...replicas],
      [
        evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { suite: 0.73 }]]),
        evaluation('eval-fashion-fgsm-rs', [[0.1, 0.87, { suite: 0.69 }]]),
        evaluation('eval-fashion-pgd-at-seed1', [[0.1, 0.85, { suite: 0.71 }]]),
        evaluation('eval-fashion-fgsm-rs-seed1', [[0.1, 0.86, { suite: 0.7 }]]),
      ],
    );
    expect(rows.filter((r) => r.replicaOf).map((r) => [r.defense, r.seed, r.replicaOf])).toEqual([
      ['pgd-at', 1, 'fashion-pgd-at'],
      ['fgsm-rs', 1, 'fashion-fgsm-rs'],
    ]);
    const checks = checkTargets(rows);
    // Means: pgd-at 72.0 / 85.5, fgsm-rs 69.5; either seed alone would say otherwise (73 vs 69: -4).
    expect(checks.map((c) => c.met)).toEqual([true, true, null, null]);
    expect(checks[1].detail).toContain('69.5% (mean of seeds 0, 1: 69.0, 70.0) vs 72.0% (mean of seeds 0, 1: 73.0, 71.0): -2.5 points');
    expect(checks[1].detail).toContain('training 210 s vs 930 s (means)');
  });

  it('refuses two rows of one measurement at the same seed rather than average them', () => {
    const rows = buildRows(trainings, [evaluation('eval-fashion-pgd-at', [[0.1, 0.86, { suite: 0.73 }]])]);
    expect(() => checkTargets([...rows, ...rows])).toThrow(/two rows of pgd-at \(standard, ε 0.1\) at the same seed/);
  });

  it('draws one series per defense and view, starting at the clean accuracy', () => {
    const rows = buildRows(trainings, [
      evaluation('eval-fashion-none', [[0.1, 0.9, { suite: 0.01 }]]),
      evaluation('curve-fashion-none', [
        [0.05, 0.9, { suite: 0.2 }],
        [0.2, 0.9, { suite: 0 }],
      ]),
    ]);
    const [series] = curveSeries(rows, 'fashion-mnist');
    // Another seed's run adds no point: the curve is the plan entry's model.
    expect(curveSeries([...rows, { ...rows[0], seed: 1, robust: 0.5, replicaOf: 'fashion-none' }], 'fashion-mnist')[0]).toEqual(series);
    expect(series.points).toEqual([
      { epsilon: 0, accuracy: 0.9 },
      { epsilon: 0.05, accuracy: 0.2 },
      { epsilon: 0.1, accuracy: 0.01 },
      { epsilon: 0.2, accuracy: 0 },
    ]);
    const svg = curveSvg([series], 'title <&>');
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('title &lt;&amp;&gt;');
    expect(svg.match(/<circle /g)).toHaveLength(4);
  });
});

describe('the plan', () => {
  it('names unique ids, and every evaluation and teacher refers to a planned run', () => {
    const ids = [...TRAININGS.map((t) => t.id), ...EVALUATIONS.map((e) => e.id)];
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of EVALUATIONS) expect(TRAININGS.map((t) => t.id)).toContain(e.source);
    for (const t of TRAININGS.filter((t) => t.parent)) expect(TRAININGS.map((x) => x.id)).toContain(t.parent!.plan);
  });
});

describe('the curve figure', () => {
  it("draws a defense's naive view as PGD-20 alone sees it, dashed, next to the adaptive one", () => {
    const trainings = [training('fashion-none', [40])];
    const squeezed = evaluation(
      'eval-fashion-feature-squeezing',
      [[0.1, 0.85, { pgd: 0.82, square: 0.03, suite: 0.03 }]],
      {
        adaptiveCurve: [{ epsilon: 0.1, n: 1000, cleanAccuracy: 0.85, robustAccuracy: { pgd: 0.05, suite: 0.02 } }],
      },
      { adaptiveAttack: { bpda: ['bit-depth'], eot: [], logitsBeforeSquash: null } },
    );
    const series = curveSeries(buildRows(trainings, [squeezed]), 'fashion-mnist');
    expect(series.map((s) => [s.label, s.dashed, s.points.map((p) => p.accuracy)])).toEqual([
      ['feature-squeezing (naive, PGD-20 alone)', true, [0.85, 0.82]],
      ['feature-squeezing (bpda)', false, [0.85, 0.02]],
    ]);
  });
});
