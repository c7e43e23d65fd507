import { setImmediate as nextTurn } from 'node:timers/promises';

/** Base64 characters decoded per turn of the event loop (a multiple of 4, so each slice decodes on its own). */
const SLICE_CHARS = 4 * 1024 * 1024;

/**
 * Buffer.from(text, 'base64'), a slice per turn of the event loop: a checkpoint or a model's
 * weights of tens of MiB would otherwise hold every other request (health checks included)
 * for the whole decode, and writing into fresh memory is slower than the decoding itself.
 */
export async function decodeBase64(text: string): Promise<Buffer> {
  if (text.length <= SLICE_CHARS) return Buffer.from(text, 'base64');
  const out = Buffer.allocUnsafe(Buffer.byteLength(text, 'base64'));
  let written = 0;
  for (let start = 0; start < text.length; start += SLICE_CHARS) {
    await nextTurn();
    written += out.write(text.slice(start, start + SLICE_CHARS), written, 'base64');
  }
  return out.subarray(0, written);
}
