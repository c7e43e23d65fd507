import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdxFile } from './idx';

const images = { rank: 3, what: 'images', source: 'mem' };
const labels = { rank: 1, what: 'labels', source: 'mem' };
/** Two 2×3 images whose bytes are 0..11. */
const tiny = { dims: [2, 2, 3], data: Uint8Array.from({ length: 12 }, (_, i) => i) };

describe('IDX', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-idx-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through encodeIdx: magic 0x00000803, big-endian dims, data in order', () => {
    const bytes = encodeIdx(tiny);
    expect(Array.from(bytes.subarray(0, 16))).toEqual([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
    const parsed = parseIdx(bytes, images);
    expect(parsed.dims).toEqual([2, 2, 3]);
    expect(Array.from(parsed.data)).toEqual(Array.from(tiny.data));
    // Big-endian, not little: 60000 = 0x0000EA60.
    expect(parseIdx(encodeIdx({ dims: [60000], data: new Uint8Array(60000) }), labels).dims).toEqual([60000]);
    expect(Array.from(encodeIdx({ dims: [60000], data: new Uint8Array(60000) }).subarray(4, 8))).toEqual([0, 0, 0xea, 0x60]);
  });

  it('names the source and what it expected for a wrong magic, a short or truncated file, or extra bytes', () => {
    const bytes = encodeIdx(tiny);
    expect(() => parseIdx(bytes, labels)).toThrow('mem: expected IDX magic 0x00000801 (labels), got 0x00000803');
    expect(() => parseIdx(encodeIdx({ dims: [3], data: new Uint8Array(3) }), images)).toThrow('mem: expected IDX magic 0x00000803 (images), got 0x00000801');
    expect(() => parseIdx(new Uint8Array([0, 0]), images)).toThrow('only 2 bytes');
    expect(() => parseIdx(bytes.subarray(0, 10), images)).toThrow('mem: truncated: an IDX header with 3 dimensions takes 16 bytes, file has 10');
    expect(() => parseIdx(bytes.subarray(0, 20), images)).toThrow('mem: truncated: header says 2×2×3 = 12 bytes of images, file has 4');
    const longer = new Uint8Array(bytes.length + 5);
    longer.set(bytes);
    expect(() => parseIdx(longer, images)).toThrow('mem: header says 2×2×3 = 12 bytes of images, but file has 17 (5 bytes too many)');
    expect(() => parseIdx(encodeIdx({ dims: [1, 1, 1], data: new Uint8Array(1) }).fill(0, 4), images)).toThrow('no data');
    // A float IDX (type 0x0D) is not an unsigned-byte one.
    const floats = encodeIdx({ dims: [1], data: new Uint8Array(1) });
    floats[2] = 0x0d;
    expect(() => parseIdx(floats, labels)).toThrow('got 0x00000d01');
  });

  it('reads files gzipped or not, telling them apart by content, and reports bad gzip and missing files', () => {
    const plain = join(dir, 'plain.gz'); // a misleading name on purpose
    const packed = join(dir, 'packed');
    writeFileSync(plain, encodeIdx(tiny));
    writeFileSync(packed, gzipSync(encodeIdx(tiny)));
    for (const path of [plain, packed]) {
      const { dims, data } = readIdxFile(path, images);
      expect(dims).toEqual([2, 2, 3]);
      expect(Array.from(data)).toEqual(Array.from(tiny.data));
      expect(Object.getPrototypeOf(data)).toBe(Uint8Array.prototype);
    }

    const cut = join(dir, 'cut.gz');
    const gz = gzipSync(encodeIdx(tiny));
    writeFileSync(cut, gz.subarray(0, gz.length - 12));
    expect(() => readIdxFile(cut, images)).toThrow(`${cut}: starts like a gzip file but does not decompress`);

    const truncatedInside = join(dir, 'truncated-inside.gz');
    writeFileSync(truncatedInside, gzipSync(encodeIdx(tiny).subarray(0, 22)));
    expect(() => readIdxFile(truncatedInside, images)).toThrow(
      `${truncatedInside} (decompressed): truncated: header says 2×2×3 = 12 bytes of images, file has 6`,
    );

    expect(() => readIdxFile(join(dir, 'absent'), images)).toThrow(`${join(dir, 'absent')}: file not found (expected an IDX file of images)`);
  });
});
