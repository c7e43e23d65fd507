import { UnrecoverableError } from 'bullmq';
import { LAYERS_MODEL_FORMAT, LAYERS_UPLOAD_FORMAT, RunJobData } from '@bulwark/queue';
import { importRunSpecSchema } from '@bulwark/spec';
import { evaluateFgsm } from '@bulwark/evaluation';
import { asLogitsModel, checkpointDigest } from '@bulwark/models';
import { JobContext, loadRunDataset } from '../job-context';
import { assertJobKind, storedSpec } from '../stored-spec';
import { encodeStoredModel, importStoredModel } from './run-model';

export type ImportJobOutcome =
  | { status: 'succeeded'; n: number; cleanAccuracy: number; adversarialAccuracy: number }
  | { status: 'skipped'; reason: string };

/**
 * Turns an `import` job into calls on @bulwark/training: loads the upload stored with the run
 * (its checkpoint at epoch 0), checks it against the dataset and takes its softmax off
 * (importLayersModel), measures clean and FGSM accuracy on the test split, and replaces the
 * upload with the accepted model, the topology every run trained from it is built from.
 */
export async function runImportJob(data: RunJobData, ctx: JobContext): Promise<ImportJobOutcome> {
  const run = await ctx.ledger.find(data.runId);
  if (!run) throw new UnrecoverableError(`run ${data.runId} does not exist`);
  assertJobKind('import', run);
  const spec = storedSpec(importRunSpecSchema, run);
  const started = await ctx.ledger.markRunning(run.id, ctx.backend, ctx.attempt);
  if (!started) {
    if (run.cancelRequestedAt) await ctx.ledger.markCancelled(run.id);
    return { status: 'skipped', reason: `run is ${run.cancelRequestedAt ? 'cancelled' : run.status}` };
  }

  const upload = await ctx.ledger.checkpointAt(run.id, 0);
  if (!upload || upload.format !== LAYERS_UPLOAD_FORMAT) {
    throw new UnrecoverableError(`import run ${run.id} has no uploaded model to import (its checkpoint at epoch 0)`);
  }
  const { test, testSplit } = loadRunDataset(spec.dataset, { testFraction: spec.testFraction, seed: spec.seed }, ctx.datasetDirs);
  const { model, info } = await importStoredModel(upload, test, 'the upload');
  try {
    const measured = await evaluateFgsm({ model: asLogitsModel(model), dataset: test, epsilon: spec.attack.epsilon });
    await ctx.ledger.upsertMetrics(run.id, [
      { key: 'test_clean_accuracy', step: 0, value: measured.cleanAccuracy },
      { key: `test_${spec.attack.name}_accuracy`, step: 0, value: measured.adversarialAccuracy },
      { key: 'test_examples', step: 0, value: measured.examples },
    ]);
    // The stored model says how it was made from the upload, for whoever downloads it.
    model.setUserDefinedMetadata({ ...model.getUserDefinedMetadata(), bulwark: { import: info, uploadSha256: spec.upload.sha256 } });
    const accepted = await encodeStoredModel(model);
    const sha256 = checkpointDigest(accepted);
    await ctx.ledger.markSucceededWithCheckpoint(
      run.id,
      { epoch: 0, data: accepted, sha256, format: LAYERS_MODEL_FORMAT },
      {
        checkpoint: { id: upload.id, epoch: 0, sha256 },
        model: info,
        n: measured.examples,
        examples: { subset: 'the whole test split', testSplit, n: measured.examples },
        cleanAccuracy: measured.cleanAccuracy,
        adversarialAccuracy: measured.adversarialAccuracy,
        attack: spec.attack,
      },
    );
    ctx.log(`run ${run.id}: imported a ${info.parameterCount}-parameter model (logits: ${info.logits}), clean accuracy ${measured.cleanAccuracy}`);
    return { status: 'succeeded', n: measured.examples, cleanAccuracy: measured.cleanAccuracy, adversarialAccuracy: measured.adversarialAccuracy };
  } finally {
    model.dispose();
  }
}
