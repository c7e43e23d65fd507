import { parseWithMessages } from './issue-messages';
import { MAX_INT4 } from './request-limits';
import { listRunsQuerySchema, resumeRunRequestSchema } from './run-requests.schema';

const run = { kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 3, batchSize: 64, seed: 1 };
const checkpoint = { epoch: 2, data: 'AAAA', sha256: 'a'.repeat(64), format: 'bulwark-ckpt-v1' };

describe('resumeRunRequestSchema', () => {
  it('takes each (key, step) once, up to the checkpoint epoch', () => {
    const metrics = [
      { key: 'train_loss', step: 0, value: 1 },
      { key: 'train_loss', step: 2, value: 0.5 },
      { key: 'test_clean_accuracy', step: 2, value: 0.9 },
    ];
    expect(parseWithMessages(resumeRunRequestSchema, { run, checkpoint, metrics })).toMatchObject({ ok: true });
  });

  it('refuses a repeated point, naming both', () => {
    const metrics = [
      { key: 'train_loss', step: 1, value: 1 },
      { key: 'train_loss', step: 2, value: 1 },
      { key: 'train_loss', step: 1, value: 2 },
    ];
    expect(parseWithMessages(resumeRunRequestSchema, { run, checkpoint, metrics })).toEqual({
      ok: false,
      errors: ['metrics.2 repeats metrics.0 (key train_loss, step 1): each point once'],
    });
  });

  it('refuses a point after the checkpoint epoch', () => {
    expect(parseWithMessages(resumeRunRequestSchema, { run, checkpoint, metrics: [{ key: 'train_loss', step: 3, value: 1 }] })).toEqual({
      ok: false,
      errors: ['metrics.0.step 3 is after checkpoint.epoch 2: send the points up to the checkpoint (later epochs run again)'],
    });
  });
});

describe('listRunsQuerySchema', () => {
  it('reads decimal integers and fills in the defaults', () => {
    expect(parseWithMessages(listRunsQuerySchema, { limit: '5', offset: String(MAX_INT4) })).toEqual({ ok: true, value: { limit: 5, offset: MAX_INT4 } });
    expect(parseWithMessages(listRunsQuerySchema, {})).toEqual({ ok: true, value: { limit: 20, offset: 0 } });
  });

  it.each([
    [{ offset: '1e20' }, 'offset must be an integer number (up to 10 decimal digits)'],
    [{ offset: '' }, 'offset must be an integer number (up to 10 decimal digits)'],
    [{ limit: '0x10' }, 'limit must be an integer number (up to 10 decimal digits)'],
    [{ offset: String(MAX_INT4 + 1) }, `offset must not be greater than ${MAX_INT4}`],
    [{ offset: '-1' }, 'offset must not be less than 0'],
  ])('refuses %p', (query, message) => {
    expect(parseWithMessages(listRunsQuerySchema, query)).toEqual({ ok: false, errors: [message] });
  });
});
