import { Run } from '@bulwark/database';
import type { TrainingRunSpec } from '@bulwark/spec';
import { toRunPageResponse, toRunResponse } from './run.mapper';

const at = new Date('2025-01-02T03:04:05.678Z');
const spec = {
  kind: 'train',
  dataset: 'mnist',
  model: 'mlp',
  attack: { name: 'fgsm', epsilon: 0.1 },
  epochs: 1,
  batchSize: 8,
  seed: 1,
  learningRate: 0.001,
  testFraction: 0.2,
} as TrainingRunSpec;

function storedRun(): Run {
  return Object.assign(new Run(), {
    id: 'a1',
    kind: 'train',
    status: 'succeeded',
    spec,
    parentRunId: null,
    parentCheckpointId: null,
    result: { last: 1 },
    idempotencyKey: 'k',
    requestHash: 'f'.repeat(64),
    backend: { name: 'cpu', tfjsVersion: '4.22.0', threads: 1 },
    progress: 1,
    attempts: 1,
    error: null,
    cancelRequestedAt: null,
    createdAt: at,
    updatedAt: at,
    startedAt: at,
    finishedAt: at,
    crashes: 0,
    crashCheckpointEpoch: 1,
    stallsCounted: 0,
    nextAttemptAt: null,
  });
}

describe('toRunResponse', () => {
  it('gives every column but the request hash, in the order clients have always seen them, then why it waits', () => {
    const body = JSON.parse(JSON.stringify(toRunResponse(storedRun(), null))) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual([
      'id',
      'kind',
      'status',
      'spec',
      'parentRunId',
      'parentCheckpointId',
      'result',
      'idempotencyKey',
      'backend',
      'progress',
      'attempts',
      'error',
      'cancelRequestedAt',
      'createdAt',
      'updatedAt',
      'startedAt',
      'finishedAt',
      'waitingFor',
      'retry',
      'crashes',
    ]);
    expect(body).toMatchObject({ id: 'a1', spec, createdAt: '2025-01-02T03:04:05.678Z', cancelRequestedAt: null, waitingFor: null, retry: null, crashes: 0 });
  });

  it('says when a run waits for a retry: which attempt comes next, why the last one failed, and when', () => {
    const nextAttemptAt = new Date('2025-01-02T03:05:00.000Z');
    const error = 'attempt 2 of 10 failed: connect ECONNREFUSED';
    const waiting = Object.assign(storedRun(), { status: 'queued', attempts: 2, error, nextAttemptAt, crashes: 1 });
    expect(toRunResponse(waiting, null)).toMatchObject({
      status: 'queued',
      retry: { attempt: 3, reason: error, nextAttemptAt },
      crashes: 1,
    });
    // Once the attempt starts (or the run ends) there is no retry to wait for.
    expect(toRunResponse(Object.assign(waiting, { status: 'running' }), null).retry).toBeNull();
  });

  it('maps a page item by item and keeps its counts', () => {
    const page = toRunPageResponse(
      { items: [storedRun(), Object.assign(storedRun(), { id: 'a2' })], total: 7, limit: 2, offset: 3 },
      new Map([['a2', 'no GPU']]),
    );
    expect(page).toMatchObject({ total: 7, limit: 2, offset: 3 });
    expect(page.items[0]).not.toHaveProperty('requestHash');
    expect(page.items.map((item) => item.waitingFor)).toEqual([null, 'no GPU']);
  });
});
