import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import { ATTACKS_VERSION } from '@bulwark/attacks';
import type { RunJobData } from '@bulwark/queue';
import { EvaluationRunSpec, EvaluationView, RunSpec, evaluationRunSpecSchema } from '@bulwark/spec';
import { seededSubset } from '@bulwark/data';
import { createDefense } from '@bulwark/defenses';
import { EpsilonOutcome, EvaluationFlag, evaluateDefense, evaluateRobustness } from '@bulwark/evaluation';
import { asLogitsModel } from '@bulwark/models';
import { JobContext, loadRunDataset } from '../job-context';
import { RunLifecycle, runJob } from '../run-lifecycle';
import { specCheck } from '../stored-spec';
import { curveShare } from './detection-result';
import { loadCheckpointModel } from '../models/run-model';
import { assertFeatureLayers, runDetectionStage } from './detection-stage';

export type EvaluationJobOutcome = { status: 'succeeded'; n: number; raisedFlags: string[] } | { status: 'cancelled' } | { status: 'skipped'; reason: string };

/**
 * Turns an `evaluation` job into a call on evaluateRobustness: rebuilds the evaluated model from
 * its checkpoint, takes the seeded subset of its test split, attacks it at every ε and writes
 * each point of the curve (and its gallery) as soon as it is measured. With detectors, then
 * evaluates them on the same subset and stores that under `result.detection`.
 */
export async function runEvaluationJob(data: RunJobData, ctx: JobContext): Promise<EvaluationJobOutcome> {
  return runJob(ctx, { runId: data.runId, check: checkEvaluation }, (checked, lifecycle) => evaluateRun(ctx, checked, lifecycle));
}

async function evaluateRun(
  ctx: JobContext,
  { spec, withDetectors }: ReturnType<typeof checkEvaluation>,
  { run, shouldStop, progress, succeeded, cancelled }: RunLifecycle,
): Promise<EvaluationJobOutcome> {
  const checkpoint = await ctx.runs.checkpointData(spec.checkpointId);
  if (!checkpoint) throw new UnrecoverableError(`checkpoint ${spec.checkpointId} no longer exists`);
  const { train, test, testSplit } = loadRunDataset(spec.dataset, { testFraction: spec.testFraction, seed: spec.datasetSeed }, ctx.datasetDirs);
  const examples = seededSubset(test, { count: spec.examples, seed: spec.seed });
  const model = await loadCheckpointModel(ctx.runs, checkpoint, test);
  try {
    if (withDetectors) assertFeatureLayers(withDetectors.detectors, model);
    const curvePart = curveShare(spec);

    const save = (view: EvaluationView, point: EpsilonOutcome) =>
      ctx.evaluationResults.saveRobustnessPoint(
        run.id,
        view,
        point.epsilon,
        point.outcomes.map(({ attack, n, cleanCorrect, robustCorrect, seconds, details }) => ({ attack, n, cleanCorrect, robustCorrect, seconds, details })),
        point.gallery.map((g) => ({ ...g, clean: Buffer.from(g.clean), adversarial: Buffer.from(g.adversarial) })),
      );
    const common = {
      dataset: examples,
      epsilons: spec.epsilons,
      norm: spec.norm,
      attacks: spec.attacks,
      params: spec.params,
      seed: spec.seed,
      galleryPerEpsilon: spec.galleryPerEpsilon,
      onProgress: (fraction: number) => progress(curvePart * fraction),
      shouldStop,
    };
    // A defended model is attacked twice: as deployed (naive) and through BPDA / EOT / its
    // un-squashed logits (adaptive), so what the defense hides shows as the gap between them.
    const defended = spec.defense ? createDefense({ model: asLogitsModel(model), spec: spec.defense }) : undefined;
    const outcome = defended ? await evaluateDefense({ ...common, defended, onPoint: (view, point) => save(view, point) }) : undefined;
    const evaluation = outcome?.naive ?? (await evaluateRobustness({ ...common, model: asLogitsModel(model), onPoint: (point) => save('direct', point) }));
    if (evaluation.stopped || outcome?.adaptive.stopped) return await cancelled();

    const detection = withDetectors
      ? await runDetectionStage({
          spec: withDetectors,
          model,
          train,
          examples,
          onProgress: (fraction) => progress(curvePart + (1 - curvePart) * fraction),
          shouldStop,
        })
      : undefined;
    if (detection === null) return await cancelled();

    const adaptive = outcome && !outcome.adaptiveAttack.sameAsNaive ? outcome.adaptive : undefined;
    const raised = [...evaluation.flags, ...(adaptive?.flags ?? [])].filter((f) => f.raised);
    const result = {
      n: evaluation.n,
      examples: { subset: `seeded subset of the test split (seed ${spec.seed})`, testSplit, n: evaluation.n },
      checkpoint: { id: checkpoint.id, epoch: checkpoint.epoch, sha256: checkpoint.sha256 },
      flags: storedFlags(evaluation.flags),
      ...(outcome && { defense: outcome.description, adaptiveAttack: outcome.adaptiveAttack }),
      ...(adaptive && { adaptiveFlags: storedFlags(adaptive.flags) }),
      ...(detection && { detection }),
      trustworthy: (adaptive ?? evaluation).flags.every((f) => !f.raised),
      libraryVersion: { attacks: ATTACKS_VERSION, tfjs: tf.version.tfjs },
      backend: ctx.backend,
    };
    return await succeeded({ n: evaluation.n, raisedFlags: [...new Set(raised.map((f) => f.flag))] }, { result });
  } finally {
    model.dispose();
  }
}

function storedFlags(flags: EvaluationFlag[]) {
  return flags.map(({ flag, raised, detail, epsilon, examples }) => ({ flag, raised, detail, epsilon, examples: examples.slice(0, 20) }));
}

/** The spec with its detection fields, when it has detectors (stored specs hold all three or none). */
function detectionSpec(spec: EvaluationRunSpec) {
  const { detectors, validationExamples, detectorAware } = spec;
  if (!detectors?.length) return undefined;
  if (validationExamples === undefined || detectorAware === undefined)
    throw new UnrecoverableError('detectors need validationExamples and detectorAware in the spec');
  return { ...spec, detectors, validationExamples, detectorAware };
}

/** The spec and, when it has detectors, its detection fields: both checked before the run is marked running. */
function checkEvaluation(stored: RunSpec) {
  const spec = specCheck('evaluation', evaluationRunSpecSchema)(stored);
  return { spec, withDetectors: detectionSpec(spec) };
}
