import { Checkpoint } from '@bulwark/database';
import { toRunCheckpointsResponse } from './checkpoint.mapper';

describe('toRunCheckpointsResponse', () => {
  it('lists metadata only: bytes loaded with a checkpoint never reach JSON', () => {
    const checkpoint = Object.assign(new Checkpoint(), {
      id: 'c1',
      runId: 'r1',
      epoch: 2,
      data: Buffer.from([1, 2, 3]),
      sha256: 'a'.repeat(64),
      sizeBytes: 3,
      format: 'bulwark-ckpt-v1',
      createdAt: new Date(0),
    });
    const body = JSON.parse(JSON.stringify(toRunCheckpointsResponse('r1', [checkpoint])));
    expect(body).toEqual({
      runId: 'r1',
      items: [{ id: 'c1', runId: 'r1', epoch: 2, sha256: 'a'.repeat(64), sizeBytes: 3, format: 'bulwark-ckpt-v1', createdAt: '1970-01-01T00:00:00.000Z' }],
    });
  });
});
