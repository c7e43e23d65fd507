import { randomBytes } from 'node:crypto';
import { decodeBase64 } from './decode-base64';

describe('decodeBase64', () => {
  it.each([0, 1, 2, 3, 1000, 3 * 1024 * 1024 + 1, 9 * 1024 * 1024 + 2])('decodes %p bytes exactly as Buffer.from does', async (size) => {
    const bytes = randomBytes(size);
    const text = bytes.toString('base64');
    expect((await decodeBase64(text)).equals(Buffer.from(text, 'base64'))).toBe(true);
    expect((await decodeBase64(text)).equals(bytes)).toBe(true);
  });

  it('lets the event loop run between slices of a large string', async () => {
    const text = randomBytes(12 * 1024 * 1024).toString('base64');
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    await decodeBase64(text);
    clearInterval(counting);
    expect(turns).toBeGreaterThan(1);
  });
});
