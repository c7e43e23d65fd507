import * as tf from '@tensorflow/tfjs';
import { UnrecoverableError } from 'bullmq';
import type { PredictAnswer, PredictJobData, PredictJobResult } from '@bulwark/queue';
import { evaluationRunSpecSchema, type DetectionResult } from '@bulwark/spec';
import { createDefenseStack, type Detector } from '@bulwark/defenses';
import { JobContext, loadRunDataset } from '../job-context';
import { detectionData, fitDetectionStack } from './detection-stage';
import { loadCheckpointModel } from '../models/run-model';
import { storedSpec } from '../stored-spec';

/**
 * Answers a predict request with an evaluated stack: the evaluation's model from its
 * checkpoint, behind its defense, guarded by one of its detectors. Detector state is not
 * stored; it is refitted exactly as the evaluation fitted it (same training-split subsets,
 * same seed), so the threshold is the one the evaluation measured, and kept in this child
 * process for the next request (servingStack). Every failure is final: the caller is waiting,
 * and a retry would answer after it has given up.
 */
export async function runPredictJob(data: PredictJobData, ctx: JobContext): Promise<PredictJobResult> {
  const run = await ctx.runs.find(data.evaluationRunId);
  if (!run || run.kind !== 'evaluation') throw new UnrecoverableError(`evaluation ${data.evaluationRunId} does not exist`);
  if (run.status !== 'succeeded') throw new UnrecoverableError(`evaluation ${run.id} is ${run.status}, not succeeded`);
  const spec = storedSpec(evaluationRunSpecSchema, run.spec);
  const detectorSpec = spec.detectors?.find((d) => d.kind === data.detector);
  const { validationExamples } = spec;
  if (!detectorSpec || validationExamples === undefined) throw new UnrecoverableError(`evaluation ${run.id} has no ${data.detector} detector`);
  const log = (line: string) => ctx.log(`predict on evaluation ${run.id}: ${line}`);

  const { serving, reused } = await servingStack(`${run.id}/${detectorSpec.kind}`, async () => {
    const checkpoint = await ctx.runs.checkpointData(spec.checkpointId);
    if (!checkpoint) throw new UnrecoverableError(`checkpoint ${spec.checkpointId} no longer exists`);
    const { train } = await loadRunDataset(
      spec.dataset,
      { testFraction: spec.testFraction, seed: spec.datasetSeed },
      { dirs: ctx.datasetDirs, uploads: ctx.uploadedDatasets },
    );
    // Built exactly as the evaluation built it (zoo or imported topology): the prediction is the evaluated model's.
    const model = await loadCheckpointModel(ctx.runs, checkpoint, train);
    try {
      const stack = await fitDetectionStack({
        model,
        spec,
        detectors: [detectorSpec],
        data: detectionData(train, { validationExamples, seed: spec.seed }),
      });
      const [detector] = stack.detectors;
      warnIfRefitDiffers(run.result?.detection as DetectionResult | undefined, detector.kind, detector.threshold, log);
      return {
        shape: train.shape,
        classNames: train.classNames,
        detector,
        defense: createDefenseStack({ defended: stack.defended, detector }),
        dispose: () => {
          stack.dispose();
          model.dispose();
        },
      };
    } catch (error) {
      model.dispose();
      throw error;
    }
  });
  if (reused) log(`${detectorSpec.kind} stack reused from an earlier request`);

  const [h, w, c] = serving.shape;
  const bad = data.inputs.findIndex((row) => row.length !== h * w * c || row.some((v) => !(v >= 0 && v <= 1)));
  if (bad >= 0) throw new UnrecoverableError(`input ${bad} is not a ${h}×${w}×${c} image with values in [0,1]`);
  const inputs = tf.tensor4d(Float32Array.from(data.inputs.flat()), [data.inputs.length, h, w, c]);
  try {
    const { detector } = serving;
    const predictions = (await serving.defense.predict(inputs)).map((p, i): PredictAnswer => {
      if (p.rejected) return { rejected: true, reason: 'rejected as adversarial', detector: detector.kind, score: p.score };
      // Cannot happen: a stack with a detector scores every input.
      if (p.score === null) throw new Error(`the ${detector.kind} stack left input ${i} unscored`);
      return { rejected: false, label: p.label, className: serving.classNames[p.label], score: p.score };
    });
    return { detector: { kind: detector.kind, threshold: detector.threshold, targetFpr: detectorSpec.fpr }, predictions };
  } finally {
    inputs.dispose();
  }
}

/** An evaluated stack ready to answer: its model, defense and fitted detector, and the input shape it takes. */
interface ServingStack {
  shape: readonly number[];
  classNames: readonly string[];
  detector: Detector;
  defense: ReturnType<typeof createDefenseStack>;
  dispose(): void;
}

/**
 * Stacks kept per (evaluation, detector), most recently used last. An evaluation, its
 * checkpoint and its detector fit never change once it has succeeded, so a kept stack stays
 * right; only memory bounds how many (a model and a detector's statistics each, a few MiB).
 * A child process runs one job at a time, so an evicted stack is never in use.
 */
const SERVING_STACKS = 4;
const servingStacks = new Map<string, Promise<ServingStack>>();

async function servingStack(key: string, build: () => Promise<ServingStack>): Promise<{ serving: ServingStack; reused: boolean }> {
  let entry = servingStacks.get(key);
  const reused = entry !== undefined;
  if (entry) {
    servingStacks.delete(key);
  } else {
    entry = build();
    entry.catch(() => servingStacks.delete(key));
  }
  servingStacks.set(key, entry);
  while (servingStacks.size > SERVING_STACKS) {
    const [oldest, evicted] = servingStacks.entries().next().value as [string, Promise<ServingStack>];
    servingStacks.delete(oldest);
    evicted.then(
      (stack) => stack.dispose(),
      () => undefined,
    );
  }
  return { serving: await entry, reused };
}

/** Refitting is deterministic on one backend; another backend's float rounding can move the threshold slightly. Said, not fatal. */
function warnIfRefitDiffers(stored: DetectionResult | undefined, kind: string, threshold: number, log: (line: string) => void): void {
  const measured = stored?.detectors.find((d) => d.detector.kind === kind)?.detector.threshold;
  if (measured !== undefined && Math.abs(measured - threshold) > 1e-6 * Math.max(1, Math.abs(measured))) {
    log(`the refitted ${kind} threshold ${threshold} differs from the evaluation's ${measured} (another backend?)`);
  }
}
