import { UnrecoverableError } from 'bullmq';
import { Run, type CrashCount, type RunRepository } from '@bulwark/database';
import type { RunSpec } from '@bulwark/spec';
import type { BackendInfo } from '@bulwark/tfjs-runtime';
import type { JobContext } from './job-context';
import { runJob } from './run-lifecycle';

const backend: BackendInfo = { name: 'cpu', tfjsVersion: '4.22.0', threads: 1, gpu: false };

/** The run row as the repository keeps it, and every transition asked of it. */
class FakeRuns {
  calls: string[] = [];
  /** What recordStalls answers: the run's crash count after counting, as Postgres would compute it. */
  crashCount: CrashCount | null = { crashes: 1, checkpointEpoch: null };
  constructor(public run: Partial<Run> | null) {}

  recordStalls(runId: string, stalledCounter: number) {
    this.calls.push(`recordStalls ${runId} ${stalledCounter}`);
    return Promise.resolve(this.crashCount);
  }
  find() {
    return Promise.resolve(this.run as Run | null);
  }
  markRunning(runId: string) {
    this.calls.push(`markRunning ${runId}`);
    const startable = this.run && ['queued', 'running'].includes(this.run.status!) && !this.run.cancelRequestedAt;
    return Promise.resolve(startable ? Object.assign(new Run(), this.run, { status: 'running', backend }) : null);
  }
  markCancelled(runId: string) {
    this.calls.push(`markCancelled ${runId}`);
    return Promise.resolve(true);
  }
  markSucceeded(runId: string, result?: Record<string, unknown>) {
    this.calls.push(`markSucceeded ${runId} ${JSON.stringify(result)}`);
    return Promise.resolve(true);
  }
  markSucceededWithCheckpoint(runId: string, checkpoint: { epoch: number }, result?: Record<string, unknown>) {
    this.calls.push(`markSucceededWithCheckpoint ${runId} epoch ${checkpoint.epoch} ${JSON.stringify(result)}`);
    return Promise.resolve(true);
  }
  isCancelRequested(runId: string) {
    this.calls.push(`isCancelRequested ${runId}`);
    return Promise.resolve(false);
  }
  setProgress(runId: string, fraction: number) {
    this.calls.push(`setProgress ${runId} ${fraction}`);
    return Promise.resolve();
  }
}

function context(runs: FakeRuns, reported: number[] = []): JobContext {
  return {
    runs: runs as unknown as RunRepository,
    evaluationResults: undefined as never,
    backend,
    attempt: 1,
    stalls: 0,
    crashBudget: 3,
    cancelPollMs: 60_000,
    queue: { redisUrl: 'redis://127.0.0.1:6379', prefix: 'unused' },
    datasetDirs: {} as JobContext['datasetDirs'],
    uploadedDatasets: { load: () => Promise.resolve(null) },
    reportProgress: (fraction) => {
      reported.push(fraction);
      return Promise.resolve();
    },
    log: () => undefined,
  };
}

const queued = { id: 'r1', kind: 'train', status: 'queued', spec: { kind: 'train' } as RunSpec, cancelRequestedAt: null, stallsCounted: 0 } as const;
const check = (spec: RunSpec) => spec.kind;

describe('runJob: the lifecycle every run job shares', () => {
  it('starts the run and ends it as the body says, returning the outcome status first', async () => {
    const runs = new FakeRuns(queued);
    const outcome = await runJob(context(runs), { runId: 'r1', check }, async (kind, { run, succeeded }) => {
      expect(kind).toBe('train');
      expect(run).toMatchObject({ id: 'r1', status: 'running', backend });
      return succeeded({ epochs: 2 }, { result: { last: 2 } });
    });
    expect(outcome).toEqual({ status: 'succeeded', epochs: 2 });
    expect(Object.keys(outcome)[0]).toBe('status');
    expect(runs.calls).toEqual(['markRunning r1', 'markSucceeded r1 {"last":2}']);
  });

  it('ends a run with its checkpoint in one transition, and a stopped run as cancelled', async () => {
    const withCheckpoint = new FakeRuns(queued);
    await runJob(context(withCheckpoint), { runId: 'r1', check }, (_kind, { succeeded }) =>
      succeeded({}, { checkpoint: { epoch: 0, data: Buffer.from([1]), sha256: 'a', format: 'f' }, result: { n: 1 } }),
    );
    expect(withCheckpoint.calls).toEqual(['markRunning r1', 'markSucceededWithCheckpoint r1 epoch 0 {"n":1}']);

    const stopped = new FakeRuns(queued);
    expect(await runJob(context(stopped), { runId: 'r1', check }, (_kind, { cancelled }) => cancelled({ epochsCompleted: 1 }))).toEqual({
      status: 'cancelled',
      epochsCompleted: 1,
    });
    expect(stopped.calls).toEqual(['markRunning r1', 'markCancelled r1']);
  });

  it('skips a run cancelled before it started, ending it cancelled, and leaves an ended run alone', async () => {
    const body = jest.fn();
    const cancelled = new FakeRuns({ ...queued, cancelRequestedAt: new Date() });
    expect(await runJob(context(cancelled), { runId: 'r1', check }, body)).toEqual({ status: 'skipped', reason: 'run is cancelled' });
    expect(cancelled.calls).toEqual(['markRunning r1', 'markCancelled r1']);

    const ended = new FakeRuns({ ...queued, status: 'succeeded' });
    expect(await runJob(context(ended), { runId: 'r1', check }, body)).toEqual({ status: 'skipped', reason: 'run is succeeded' });
    expect(ended.calls).toEqual(['markRunning r1']);
    expect(body).not.toHaveBeenCalled();
  });

  it('fails for good on a missing run or a spec it cannot execute, before marking anything', async () => {
    const missing = new FakeRuns(null);
    await expect(runJob(context(missing), { runId: 'r9', check }, jest.fn())).rejects.toThrow(new UnrecoverableError('run r9 does not exist'));
    const unfit = new FakeRuns(queued);
    const refuse = () => {
      throw new UnrecoverableError('unknown dataset');
    };
    await expect(runJob(context(unfit), { runId: 'r1', check: refuse }, jest.fn())).rejects.toBeInstanceOf(UnrecoverableError);
    expect([...missing.calls, ...unfit.calls]).toEqual([]);
  });

  it('refuses, before marking anything, a run that requires a GPU in a job process whose backend has none', async () => {
    const gpuRun = { ...queued, spec: { kind: 'train', requiresGpu: true } as RunSpec };
    const onCpu = new FakeRuns(gpuRun);
    await expect(runJob(context(onCpu), { runId: 'r1', check }, jest.fn())).rejects.toThrow('run r1 requires a GPU, but this job process runs on cpu');
    expect(onCpu.calls).toEqual([]);

    const onGpu = new FakeRuns(gpuRun);
    const ctx = { ...context(onGpu), backend: { ...backend, name: 'node-gpu' as const, gpu: true } };
    await runJob(ctx, { runId: 'r1', check }, (_kind, { succeeded }) => succeeded({}));
    expect(onGpu.calls).toEqual(['markRunning r1', 'markSucceeded r1 undefined']);
  });

  it("lets the body's error through untouched, so BullMQ retries and the parent records the failure", async () => {
    const runs = new FakeRuns(queued);
    const boom = new Error('out of memory');
    await expect(runJob(context(runs), { runId: 'r1', check }, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(runs.calls).toEqual(['markRunning r1']);
  });

  it('throttles progress and cancel polling', async () => {
    const runs = new FakeRuns(queued);
    const reported: number[] = [];
    await runJob(context(runs, reported), { runId: 'r1', check }, async (_kind, { progress, shouldStop }) => {
      await progress(0.1);
      await progress(0.2);
      expect(await shouldStop()).toBe(false);
      expect(await shouldStop()).toBe(false);
    });
    expect(reported).toEqual([0.1]);
    expect(runs.calls).toEqual(['markRunning r1', 'setProgress r1 0.1', 'isCancelRequested r1']);
  });

  it('counts a stalled job as a crash before starting it again, within the crash budget', async () => {
    const runs = new FakeRuns({ ...queued, status: 'running', stallsCounted: 1 });
    runs.crashCount = { crashes: 3, checkpointEpoch: 4 };
    await runJob({ ...context(runs), stalls: 2 }, { runId: 'r1', check }, (_kind, { succeeded }) => succeeded({}));
    expect(runs.calls).toEqual(['recordStalls r1 2', 'markRunning r1', 'markSucceeded r1 undefined']);
  });

  it('fails for good, naming CRASH_BUDGET, a run that crashed more often than its budget without progress', async () => {
    const runs = new FakeRuns({ ...queued, status: 'running' });
    runs.crashCount = { crashes: 4, checkpointEpoch: 2 };
    const body = jest.fn();
    const failure = runJob({ ...context(runs), stalls: 4 }, { runId: 'r1', check }, body);
    await expect(failure).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(failure).rejects.toThrow(
      'its worker crashed 4 times in a row without a checkpoint newer than epoch 2, more than its crash budget allows (CRASH_BUDGET=3)',
    );
    expect(runs.calls).toEqual(['recordStalls r1 4']);
    expect(body).not.toHaveBeenCalled();
  });

  it('counts nothing for a delivery whose stalls were counted already, or for a run that was cancelled', async () => {
    const counted = new FakeRuns({ ...queued, status: 'running', stallsCounted: 2 });
    await runJob({ ...context(counted), stalls: 2 }, { runId: 'r1', check }, (_kind, { succeeded }) => succeeded({}));
    expect(counted.calls).toEqual(['markRunning r1', 'markSucceeded r1 undefined']);

    const cancelled = new FakeRuns({ ...queued, status: 'running', cancelRequestedAt: new Date() });
    await runJob({ ...context(cancelled), stalls: 5 }, { runId: 'r1', check }, jest.fn());
    expect(cancelled.calls).toEqual(['markRunning r1', 'markCancelled r1']);
  });
});
