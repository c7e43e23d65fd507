import { UnrecoverableError } from 'bullmq';
import { LAYERS_MODEL_FORMAT, LAYERS_UPLOAD_FORMAT, RunJobData } from '@bulwark/queue';
import { ImportRunSpec, importRunSpecSchema } from '@bulwark/spec';
import { evaluateFgsm } from '@bulwark/evaluation';
import { asLogitsModel, checkpointDigest } from '@bulwark/models';
import { JobContext, loadRunDataset } from '../job-context';
import { RunLifecycle, runJob } from '../run-lifecycle';
import { specCheck } from '../stored-spec';
import { encodeStoredModel, importStoredModel } from './run-model';

export type ImportJobOutcome = { status: 'succeeded'; n: number; cleanAccuracy: number; adversarialAccuracy: number } | { status: 'skipped'; reason: string };

/**
 * Turns an `import` job into calls on @bulwark/training: loads the upload stored with the run
 * (its checkpoint at epoch 0), checks it against the dataset and takes its softmax off
 * (importLayersModel), measures clean and FGSM accuracy on the test split, and replaces the
 * upload with the accepted model, the topology every run trained from it is built from.
 */
export async function runImportJob(data: RunJobData, ctx: JobContext): Promise<ImportJobOutcome> {
  return runJob(ctx, { runId: data.runId, check: specCheck('import', importRunSpecSchema) }, (spec, lifecycle) => importRun(ctx, spec, lifecycle));
}

async function importRun(ctx: JobContext, spec: ImportRunSpec, { run, succeeded }: RunLifecycle): Promise<ImportJobOutcome> {
  const upload = await ctx.runs.checkpointAt(run.id, 0);
  if (!upload || upload.format !== LAYERS_UPLOAD_FORMAT) {
    throw new UnrecoverableError(`import run ${run.id} has no uploaded model to import (its checkpoint at epoch 0)`);
  }
  const { test, testSplit } = await loadRunDataset(
    spec.dataset,
    { testFraction: spec.testFraction, seed: spec.seed },
    { dirs: ctx.datasetDirs, uploads: ctx.uploadedDatasets },
  );
  const { model, info } = await importStoredModel(upload, test, 'the upload');
  try {
    const measured = await evaluateFgsm({ model: asLogitsModel(model), dataset: test, epsilon: spec.attack.epsilon });
    await ctx.runs.upsertMetrics(run.id, [
      { key: 'test_clean_accuracy', step: 0, value: measured.cleanAccuracy },
      { key: `test_${spec.attack.name}_accuracy`, step: 0, value: measured.adversarialAccuracy },
      { key: 'test_examples', step: 0, value: measured.examples },
    ]);
    // The stored model says how it was made from the upload, for whoever downloads it.
    model.setUserDefinedMetadata({ ...model.getUserDefinedMetadata(), bulwark: { import: info, uploadSha256: spec.upload.sha256 } });
    const accepted = await encodeStoredModel(model);
    const sha256 = checkpointDigest(accepted);
    const outcome = await succeeded(
      { n: measured.examples, cleanAccuracy: measured.cleanAccuracy, adversarialAccuracy: measured.adversarialAccuracy },
      {
        checkpoint: { epoch: 0, data: accepted, sha256, format: LAYERS_MODEL_FORMAT },
        result: {
          checkpoint: { id: upload.id, epoch: 0, sha256 },
          model: info,
          n: measured.examples,
          examples: { subset: 'the whole test split', testSplit, n: measured.examples },
          cleanAccuracy: measured.cleanAccuracy,
          adversarialAccuracy: measured.adversarialAccuracy,
          attack: spec.attack,
        },
      },
    );
    ctx.log(`run ${run.id}: imported a ${info.parameterCount}-parameter model (logits: ${info.logits}), clean accuracy ${measured.cleanAccuracy}`);
    return outcome;
  } finally {
    model.dispose();
  }
}
