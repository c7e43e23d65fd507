import type { EvaluationRunSpec, ImportRunSpec, TrainingRunSpec } from '@bulwark/spec';
import { cappedBackoffMs, consumedQueueNames, retryDelayMs, runQueueName } from './queues';
import { gpuQueueWait, type WorkerPresence } from './worker-presence';

const training = { kind: 'train' } as TrainingRunSpec;
const evaluation = { kind: 'evaluation' } as EvaluationRunSpec;

function worker(gpu: boolean, queues: WorkerPresence['queues']): WorkerPresence {
  return { id: 'h:1', host: 'h', pid: 1, backend: { name: gpu ? 'node-gpu' : 'wasm', gpu, description: '' }, queues, startedAt: '' };
}

describe('runQueueName', () => {
  it('sends a run to its kind’s queue, or to that queue’s GPU counterpart when it requires a GPU', () => {
    expect(runQueueName({ kind: 'train', spec: training })).toBe('training');
    expect(runQueueName({ kind: 'distillation', spec: { ...training, kind: 'distillation', requiresGpu: true } })).toBe('training-gpu');
    expect(runQueueName({ kind: 'evaluation', spec: evaluation })).toBe('evaluation');
    expect(runQueueName({ kind: 'evaluation', spec: { ...evaluation, requiresGpu: true } })).toBe('evaluation-gpu');
    expect(runQueueName({ kind: 'import', spec: { kind: 'import' } as ImportRunSpec })).toBe('training');
  });
});

describe('consumedQueueNames', () => {
  it('adds the GPU counterparts of the listed queues only for a worker whose backend computes on a GPU', () => {
    expect(consumedQueueNames(['training', 'evaluation'], false)).toEqual(['training', 'evaluation']);
    expect(consumedQueueNames(['training', 'evaluation'], true)).toEqual(['training', 'evaluation', 'training-gpu', 'evaluation-gpu']);
    expect(consumedQueueNames(['evaluation'], true)).toEqual(['evaluation', 'evaluation-gpu']);
  });
});

describe('gpuQueueWait', () => {
  it('says that no GPU worker is connected, or that none consumes the queue, and nothing once one does', () => {
    expect(gpuQueueWait('training-gpu', [])).toBe('no worker with a GPU is connected; the run waits in queue training-gpu until one is');
    expect(gpuQueueWait('training-gpu', [worker(false, ['training', 'evaluation'])])).toMatch(/^no worker with a GPU is connected/);
    expect(gpuQueueWait('training-gpu', [worker(true, ['evaluation', 'evaluation-gpu'])])).toBe(
      'no connected worker with a GPU consumes training (WORKER_QUEUES); the run waits in queue training-gpu until one does',
    );
    expect(gpuQueueWait('training-gpu', [worker(true, ['training', 'training-gpu'])])).toBeUndefined();
  });

  it('says nothing about the plain queues', () => {
    expect(gpuQueueWait('training', [])).toBeUndefined();
  });
});

describe('cappedBackoffMs', () => {
  it('doubles from the base delay as BullMQ’s exponential does, and stops growing at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((attemptsMade) => cappedBackoffMs(attemptsMade, 5000, 60_000))).toEqual([
      5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000,
    ]);
  });

  it('lets nine retries at the defaults (5 s base, 60 s cap) wait out more than six minutes between them', () => {
    const waits = Array.from({ length: 9 }, (_, i) => cappedBackoffMs(i + 1, 5000, 60_000));
    expect(waits.reduce((a, b) => a + b, 0)).toBe(375_000);
  });
});

describe('retryDelayMs', () => {
  it('caps the capped-exponential backoff of run jobs and leaves the built-in ones as BullMQ computes them', () => {
    expect(retryDelayMs(6, { type: 'capped-exponential', delay: 5000 }, 60_000)).toBe(60_000);
    expect(retryDelayMs(6, { type: 'exponential', delay: 5000 }, 60_000)).toBe(160_000);
    expect(retryDelayMs(6, { type: 'fixed', delay: 100 }, 60_000)).toBe(100);
    expect(retryDelayMs(6, 250, 60_000)).toBe(250);
    expect(retryDelayMs(1, undefined, 60_000)).toBe(0);
  });
});
