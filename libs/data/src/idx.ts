import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, element type, number of
 * dimensions), one big-endian uint32 per dimension, then the elements, row-major. Only the
 * unsigned-byte element type (0x08) is read: it is the one those data sets use, and what
 * `Dataset` stores.
 */
export interface IdxArray {
  /** Sizes of the dimensions, outermost first (e.g. [60000, 28, 28]). */
  dims: number[];
  /** The elements; a view into the file's bytes, not a copy. */
  data: Uint8Array;
}

export interface ParseIdxOptions {
  /** Named in every error: the file path, or whatever the bytes came from. */
  source: string;
  /** The number of dimensions the caller needs (1 for labels, 3 for images). */
  rank: number;
  /** What the elements are, for messages: 'labels', 'images'. */
  what: string;
}

const UNSIGNED_BYTE = 0x08;
const GZIP_MAGIC = [0x1f, 0x8b];
/** 10-byte header + 8-byte trailer. */
const GZIP_MIN_LENGTH = 18;
const GZIP_DEFAULT_CHUNK = 16 * 1024;
const ZLIB_MIN_CHUNK = 64;
const GZIP_MAX_CHUNK = 256 * 1024 * 1024;

/** Parses IDX bytes that are already decompressed; throws an error naming `source` if they are not the IDX array asked for. */
export function parseIdx(bytes: Uint8Array, { source, rank, what }: ParseIdxOptions): IdxArray {
  const expectedMagic = UNSIGNED_BYTE * 0x100 + rank;
  const magicText = `0x${expectedMagic.toString(16).padStart(8, '0')}`;
  if (bytes.length < 4) {
    throw new Error(`${source}: expected IDX magic ${magicText} (${what}), but the file has only ${bytes.length} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) {
    throw new Error(`${source}: expected IDX magic ${magicText} (${what}), got 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new Error(`${source}: truncated: an IDX header with ${rank} dimensions takes ${headerLength} bytes, file has ${bytes.length}`);
  }
  const sizes = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const declared = sizes.reduce((product, size) => product * size, 1);
  const described = `${sizes.join('×')}${rank > 1 ? ` = ${declared}` : ''} bytes of ${what}`;
  if (declared === 0) {
    throw new Error(`${source}: header says ${described}: no data`);
  }
  const present = bytes.length - headerLength;
  if (present < declared) {
    throw new Error(`${source}: truncated: header says ${described}, file has ${present}`);
  }
  if (present > declared) {
    throw new Error(`${source}: header says ${described}, but file has ${present} (${present - declared} bytes too many): not the array its header describes`);
  }
  return { dims: sizes, data: bytes.subarray(headerLength) };
}

/** Reads an IDX file, gzip-compressed or not (told apart by the gzip magic bytes, not the name). */
export function readIdxFile(path: string, expected: Omit<ParseIdxOptions, 'source'>): IdxArray {
  const raw = readDataFile(path, `an IDX file of ${expected.what}`);
  if (raw[0] !== GZIP_MAGIC[0] || raw[1] !== GZIP_MAGIC[1]) {
    return parseIdx(raw, { ...expected, source: path });
  }
  let inflated: Uint8Array;
  try {
    const buffer = gunzipSync(raw, { chunkSize: gunzipChunkSize(raw) });
    inflated = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new Error(`${path}: starts like a gzip file but does not decompress (${(error as Error).message}): the file is truncated or corrupted`);
  }
  return parseIdx(inflated, { ...expected, source: `${path} (decompressed)` });
}

/**
 * zlib inflates into chunks (16 KiB by default) and then concatenates them, so a 47 MB file
 * briefly takes twice its size. The gzip trailer's ISIZE (the uncompressed length, mod 2^32)
 * lets the whole output land in one chunk instead; one byte more so that zlib never asks for
 * a second, empty chunk. A wrong ISIZE (a corrupted file, or one over 4 GiB) only costs
 * extra chunks, and the cap bounds what a corrupted trailer can make us reserve.
 */
function gunzipChunkSize(gz: Uint8Array): number {
  if (gz.length < GZIP_MIN_LENGTH) return GZIP_DEFAULT_CHUNK;
  const isize = new DataView(gz.buffer, gz.byteOffset, gz.byteLength).getUint32(gz.length - 4, true);
  return Math.min(Math.max(isize + 1, ZLIB_MIN_CHUNK), GZIP_MAX_CHUNK);
}

/** Writes an unsigned-byte IDX array: the inverse of `parseIdx`, for exporting data other tools read. */
export function encodeIdx({ dims, data }: IdxArray): Uint8Array {
  const count = dims.reduce((product, size) => product * size, 1);
  if (dims.length === 0 || dims.length > 255 || !dims.every((size) => Number.isInteger(size) && size > 0 && size < 2 ** 32)) {
    throw new Error(`IDX dimensions must be 1 to 255 positive uint32 sizes, got [${dims.join(', ')}]`);
  }
  if (count !== data.length) {
    throw new Error(`IDX dimensions ${dims.join('×')} need ${count} bytes, got ${data.length}`);
  }
  const bytes = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, UNSIGNED_BYTE * 0x100 + dims.length);
  dims.forEach((size, i) => view.setUint32(4 + 4 * i, size));
  bytes.set(data, 4 + 4 * dims.length);
  return bytes;
}

/** readFileSync with an error that says which file was wanted and as what. */
export function readDataFile(path: string, expected: string): Uint8Array {
  try {
    const buffer = readFileSync(path);
    // A plain Uint8Array view: callers and tests compare typed arrays, and Buffer is a subclass.
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${path}: file not found (expected ${expected})`);
    throw new Error(`${path}: cannot read ${expected}: ${(error as Error).message}`);
  }
}
