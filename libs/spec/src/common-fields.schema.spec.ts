import { z } from 'zod';
import { base64Schema, isBase64 } from './common-fields.schema';

describe('base64Schema', () => {
  it.each(['', 'AA==', 'AAA=', 'AAAA', Buffer.from('any bytes at all \u00ff').toString('base64'), 'ab+/'])('accepts %p', (text) => {
    expect(isBase64(text)).toBe(true);
    expect(base64Schema.safeParse(text).success).toBe(true);
  });

  it.each(['A', 'AAA', 'AA=A', 'A===', 'AA AA', 'AA\nA', 'ab-_', 'AAé=', '====', '{"a":1}'])('refuses %p', (text) => {
    expect(isBase64(text)).toBe(false);
  });

  it('names the field for a bad value and for a value of the wrong type', () => {
    const body = z.object({ weights: base64Schema });
    expect(body.safeParse({ weights: 'not base64!' }).error?.issues.map((i) => i.message)).toEqual(['weights must be base64 encoded']);
    expect(body.safeParse({ weights: 42 }).error?.issues.map((i) => i.message)).toEqual(['weights must be base64 encoded']);
  });

  it('agrees with Node on what decodes losslessly', () => {
    for (let n = 0; n < 40; n++) {
      const text = Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) % 256)).toString('base64');
      expect(isBase64(text)).toBe(true);
      expect(Buffer.from(text, 'base64').toString('base64')).toBe(text);
    }
  });
});
