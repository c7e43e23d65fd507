import type { RunEvent } from '@bulwark/spec';
import { compareStreamIds, decodeRunEvent, encodeRunEvent, isStreamEntryId, runEventStreamKey, runIdOfEntry } from './run-events';

const metric: RunEvent = { type: 'metric', runId: 'r1', kind: 'train', at: '2026-12-06T14:00:00.000Z', key: 'loss', step: 2, value: 0.25 };

describe('run event codec', () => {
  it('decodes what it encodes, and names the run without parsing', () => {
    const fields = encodeRunEvent(metric);
    expect(decodeRunEvent(fields)).toEqual(metric);
    expect(runIdOfEntry(fields)).toBe('r1');
  });

  it('skips entries the contract does not declare', () => {
    const fields = encodeRunEvent(metric);
    expect(decodeRunEvent(['run', 'r1', 'type', 'metric', 'event', '{not json'])).toBeUndefined();
    expect(decodeRunEvent(['run', 'r1', 'type', 'gossip', 'event', JSON.stringify({ ...metric, type: 'gossip' })])).toBeUndefined();
    expect(decodeRunEvent(['run', 'r1', 'event', JSON.stringify({ ...metric, kind: 'sorcery' })])).toBeUndefined();
    // The run field and the event's run must agree: a reader filters by the field.
    expect(decodeRunEvent(fields.map((f) => (f === 'r1' ? 'r2' : f)))).toBeUndefined();
    expect(decodeRunEvent(['run', 'r1'])).toBeUndefined();
  });

  it('keys one stream per tenant under the queue prefix', () => {
    expect(runEventStreamKey('bulwark', 't1')).toBe('bulwark:events:t1');
    expect(runEventStreamKey('bulwark', 't1')).not.toBe(runEventStreamKey('bulwark', 't2'));
  });

  it('accepts stream entry ids and "0" as Last-Event-ID, nothing else', () => {
    expect(isStreamEntryId('1764700000123-0')).toBe(true);
    expect(isStreamEntryId('0')).toBe(true);
    for (const bad of ['', '$', '>', '+', '-', '12', '1-2-3', 'abc-1', '1-', ' 1-0', `${'9'.repeat(21)}-0`]) expect(isStreamEntryId(bad)).toBe(false);
  });

  it('orders stream ids numerically, "0" first', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-1', '10-1')).toBe(0);
    expect(compareStreamIds('1764700000123-5', '1764700000123-4')).toBeGreaterThan(0);
    expect(compareStreamIds('0', '0-1')).toBeLessThan(0);
  });
});
