import type { Dataset } from '@bulwark/data';

/**
 * Binary encodings of what a data-parallel step exchanges through Redis: lists of float32
 * arrays (weights, gradients) and a shard's examples (uint8 pixels and labels). A header of
 * uint32 words (a tag, then the lengths) precedes the payload; byte order is the host's, which
 * is little-endian on every platform tfjs runs on.
 */
const FLOATS_TAG = 0x42574631; // "BWF1"
const EXAMPLES_TAG = 0x42574531; // "BWE1"

export function encodeFloatArrays(arrays: readonly Float32Array[]): Buffer {
  const header = Uint32Array.from([FLOATS_TAG, arrays.length, ...arrays.map((a) => a.length)]);
  return Buffer.concat([bytesOf(header), ...arrays.map(bytesOf)]);
}

export function decodeFloatArrays(blob: Buffer): Float32Array[] {
  const words = readWords(blob, 0, 2);
  if (words[0] !== FLOATS_TAG) throw new Error('not a float-array blob (bad tag)');
  const lengths = readWords(blob, 8, words[1]);
  let offset = 8 + 4 * words[1];
  const arrays = Array.from(lengths, (length) => {
    const array = new Float32Array(copyBytes(blob, offset, 4 * length));
    offset += 4 * length;
    return array;
  });
  if (offset !== blob.length) throw new Error(`float-array blob has ${blob.length - offset} trailing bytes`);
  return arrays;
}

/** A shard's examples as they leave the trainer: what makeBatch needs, nothing else. */
export function encodeExamples(ds: Dataset): Buffer {
  const header = Uint32Array.from([EXAMPLES_TAG, ds.size, ...ds.shape, ds.classNames.length]);
  return Buffer.concat([bytesOf(header), Buffer.from(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength), bytesOf(ds.images)]);
}

export function decodeExamples(blob: Buffer, name: string): Dataset {
  const [tag, size, h, w, c, classes] = readWords(blob, 0, 6);
  if (tag !== EXAMPLES_TAG) throw new Error('not an examples blob (bad tag)');
  const pixels = size * h * w * c;
  if (blob.length !== 24 + size + pixels) throw new Error(`examples blob holds ${blob.length} bytes, expected ${24 + size + pixels}`);
  const labels = new Uint8Array(copyBytes(blob, 24, size));
  const images = new Uint8Array(copyBytes(blob, 24 + size, pixels));
  const classNames = Array.from({ length: classes }, (_, i) => String(i));
  return { name, images, labels, shape: [h, w, c], classNames, size };
}

function bytesOf(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** A copy into a fresh, aligned ArrayBuffer: a Buffer's offset need not be a multiple of 4. */
function copyBytes(blob: Buffer, offset: number, length: number): ArrayBuffer {
  if (offset + length > blob.length) throw new Error(`blob too short: needs ${offset + length} bytes, has ${blob.length}`);
  const copy = new Uint8Array(length);
  copy.set(blob.subarray(offset, offset + length));
  return copy.buffer;
}

function readWords(blob: Buffer, offset: number, count: number): Uint32Array {
  return new Uint32Array(copyBytes(blob, offset, 4 * count));
}
