import { isInfrastructureFailure, strandedRunVerdict } from './stranded-run';

const queued = { status: 'queued', cancelRequestedAt: null } as const;
const running = { status: 'running', cancelRequestedAt: null } as const;

describe('strandedRunVerdict', () => {
  it('leaves a run alone while its job is live, even a cancelled one (its worker ends it)', () => {
    for (const state of ['waiting', 'delayed', 'prioritized', 'active', 'waiting-children'] as const) {
      expect(strandedRunVerdict(running, { state })).toEqual({ action: 'leave' });
      expect(strandedRunVerdict({ ...running, cancelRequestedAt: new Date() }, { state })).toEqual({ action: 'leave' });
    }
  });

  it('ends cancelled a run whose cancel no job will see', () => {
    expect(strandedRunVerdict({ ...running, cancelRequestedAt: new Date() }, { state: 'missing' })).toEqual({ action: 'cancel' });
    expect(strandedRunVerdict({ ...running, cancelRequestedAt: new Date() }, { state: 'failed', failedReason: 'boom' })).toEqual({ action: 'cancel' });
  });

  it('enqueues a queued row without a job, and resumes a running run whose job is gone', () => {
    expect(strandedRunVerdict(queued, { state: 'missing' })).toEqual({ action: 'enqueue', reason: 'its job is missing from the queue' });
    expect(strandedRunVerdict(running, { state: 'missing' })).toMatchObject({ action: 'requeue', reason: expect.stringMatching(/^its job is missing/) });
    expect(strandedRunVerdict(running, { state: 'completed' })).toMatchObject({ action: 'requeue' });
  });

  it('records a failure that never reached the run, but resumes one that only an outage caused', () => {
    expect(strandedRunVerdict(running, { state: 'failed', failedReason: 'loss is NaN' })).toEqual({ action: 'fail', reason: 'loss is NaN' });
    expect(strandedRunVerdict(running, { state: 'failed', failedReason: 'connect ECONNREFUSED 127.0.0.1:5432' })).toMatchObject({
      action: 'requeue',
      reason: expect.stringContaining('failed on an outage'),
    });
    expect(strandedRunVerdict(queued, { state: 'failed', failedReason: 'Connection terminated unexpectedly' })).toMatchObject({ action: 'requeue' });
  });
});

describe('isInfrastructureFailure', () => {
  it('tells a lost store or a stalled-out job from a failure of the run itself', () => {
    expect(isInfrastructureFailure('terminating connection due to administrator command')).toBe(true);
    expect(isInfrastructureFailure('job stalled more than allowable limit')).toBe(true);
    expect(isInfrastructureFailure('dataset cifar10 needs CIFAR10_DIR')).toBe(false);
  });
});
