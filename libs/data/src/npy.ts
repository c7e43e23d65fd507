/**
 * NumPy's .npy format (format versions 1.0 to 3.0): the magic `\x93NUMPY`, a version, a header
 * length, a Python dict literal header (`descr`, `fortran_order`, `shape`), then the elements.
 * Only what `np.save` writes for plain numeric arrays is read: little-endian (or byte-sized)
 * unsigned, signed and float elements in C order. Object arrays, structured dtypes, big-endian
 * data and Fortran order are refused with a message saying how to re-save the array.
 */
export interface NpyArray {
  /** The dtype as NumPy spells it, e.g. '<f4', '|u1'. */
  descr: string;
  shape: number[];
  /** The elements in C order, as numbers (int64 values above 2^53 lose precision; no label or pixel is that large). */
  data: ArrayLike<number>;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

type ElementReader = (view: DataView, offset: number) => number;

/** Element kinds by `descr` without its byte-order character. */
const ELEMENTS: Readonly<Record<string, { size: number; read: ElementReader }>> = {
  u1: { size: 1, read: (v, o) => v.getUint8(o) },
  i1: { size: 1, read: (v, o) => v.getInt8(o) },
  b1: { size: 1, read: (v, o) => v.getUint8(o) },
  u2: { size: 2, read: (v, o) => v.getUint16(o, true) },
  i2: { size: 2, read: (v, o) => v.getInt16(o, true) },
  u4: { size: 4, read: (v, o) => v.getUint32(o, true) },
  i4: { size: 4, read: (v, o) => v.getInt32(o, true) },
  u8: { size: 8, read: (v, o) => Number(v.getBigUint64(o, true)) },
  i8: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  f4: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  f8: { size: 8, read: (v, o) => v.getFloat64(o, true) },
};

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((byte, i) => bytes[i] === byte);
}

/** Parses .npy bytes; throws an error naming `source` when they are not a plain numeric C-order array. */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  if (!isNpy(bytes)) throw new Error(`${source}: not a .npy file (it does not start with \\x93NUMPY)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`${source}: .npy format version ${major}.${bytes[7]} is not supported (1.0 to 3.0 are)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new Error(`${source}: truncated .npy header`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (bytes.length < dataStart)
    throw new Error(`${source}: truncated .npy header (it says ${headerLength} bytes, the file has ${bytes.length - 8 - lengthBytes})`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataStart));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(
      `${source}: the .npy header must hold descr, fortran_order and shape (got ${header.trim().slice(0, 120)}); is it a structured or object array?`,
    );
  }
  if (fortran === 'True') {
    throw new Error(`${source}: fortran_order is True: save the array in C order (np.save(path, np.ascontiguousarray(a)))`);
  }
  const order = descr[0];
  const kind = descr.slice(1);
  const element = Object.hasOwn(ELEMENTS, kind) ? ELEMENTS[kind] : undefined;
  if (!['<', '|', '='].includes(order) || element === undefined) {
    const why = order === '>' ? 'big-endian data is not supported' : 'expected an unsigned, signed or float dtype';
    throw new Error(`${source}: dtype ${descr}: ${why} (save with a.astype('<f4') or a.astype('u1'))`);
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => Number(part.replace(/L$/, '')));
  if (!shape.every((size) => Number.isSafeInteger(size) && size >= 0)) throw new Error(`${source}: shape (${shapeText}) is not a tuple of sizes`);
  const count = shape.reduce((product, size) => product * size, 1);
  const present = bytes.length - dataStart;
  if (present !== count * element.size) {
    throw new Error(
      `${source}: shape (${shape.join(', ')}) of ${descr} needs ${count * element.size} bytes of data, the file has ${present}` +
        (present < count * element.size ? ' (truncated)' : ''),
    );
  }
  if (element.size === 1 && descr.endsWith('u1')) return { descr, shape, data: bytes.subarray(dataStart) };
  // float32 holds every 1- and 2-byte integer and every float32 exactly, at half float64's memory (an upload can be hundreds of MB).
  const data = ['u1', 'i1', 'b1', 'u2', 'i2', 'f4'].includes(kind) ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = element.read(view, dataStart + i * element.size);
  return { descr, shape, data };
}

/** Writes a C-order .npy (format 1.0) of uint8 or float32 elements: for tests and for tools that export. */
export function encodeNpy(shape: readonly number[], data: Uint8Array | Float32Array): Uint8Array {
  const descr = data instanceof Uint8Array ? '|u1' : '<f4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic, version and length take 10 bytes; NumPy pads the header with spaces and a newline to a multiple of 64.
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const bytes = new Uint8Array(10 + header.length + data.byteLength);
  bytes.set(MAGIC);
  bytes[6] = 1;
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return bytes;
}
