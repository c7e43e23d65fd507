import { Run, type EvaluationResultRepository, type RunRepository } from '@bulwark/database';
import type { JobContext } from '../job-context';
import type { EvaluationInputs } from './evaluation-inputs';
import { runEvaluationShardJob } from './run-evaluation-shard-job';

const shard = { runId: 'r1', view: 'direct' as const, index: 1 };

/** A context whose run is `run` and whose stored shards are `stored`; it records every call on the run and the shards. */
function context(run: Partial<Run>, stored: boolean) {
  const calls: string[] = [];
  const runs = {
    find: () => Promise.resolve(Object.assign(new Run(), { id: 'r1', kind: 'evaluation', cancelRequestedAt: null, spec: { kind: 'evaluation' }, ...run })),
    markCancelled: (id: string) => (calls.push(`markCancelled ${id}`), Promise.resolve(true)),
  };
  const evaluationResults = {
    isShardStored: (id: string, view: string, index: number) => (calls.push(`isShardStored ${id} ${view} ${index}`), Promise.resolve(stored)),
  };
  const ctx = {
    runs: runs as unknown as RunRepository,
    evaluationResults: evaluationResults as unknown as EvaluationResultRepository,
    log: () => undefined,
  } as unknown as JobContext;
  return { ctx, calls };
}

/** Loading a dataset or a model is computing: a skipped shard must not get that far. */
const untouchable = new Proxy(
  {},
  {
    get: (_target, name) => () => {
      throw new Error(`a skipped shard called inputs.${String(name)}`);
    },
  },
) as unknown as EvaluationInputs;

describe('runEvaluationShardJob: the shards that compute nothing', () => {
  it('skips the shard of a cancelled run and ends the run cancelled', async () => {
    const { ctx, calls } = context({ status: 'running', cancelRequestedAt: new Date() }, false);
    expect(await runEvaluationShardJob(shard, ctx, untouchable)).toEqual({ status: 'skipped', reason: 'run is cancelled' });
    expect(calls).toEqual(['markCancelled r1']);
  });

  it('skips the shard of a run that has ended (another shard failed it, or it was cancelled)', async () => {
    for (const status of ['failed', 'cancelled', 'succeeded'] as const) {
      const { ctx, calls } = context({ status }, false);
      expect(await runEvaluationShardJob(shard, ctx, untouchable)).toEqual({ status: 'skipped', reason: `run is ${status}` });
      expect(calls).toEqual([]);
    }
  });

  it('never computes a shard again once its results are stored', async () => {
    const { ctx, calls } = context({ status: 'running' }, true);
    expect(await runEvaluationShardJob(shard, ctx, untouchable)).toEqual({ status: 'skipped', reason: 'shard already stored' });
    expect(calls).toEqual(['isShardStored r1 direct 1']);
  });
});
