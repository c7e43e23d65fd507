import { encodeNpy, parseNpy } from './npy';

/** Written by NumPy 1.x: np.save(f, np.array([1, 2, 3], dtype='<i8')). */
const NUMPY_INT64 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAg' +
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAAIAAAAAAAAAAwAAAAAAAAA=';
/** np.save(f, np.arange(12, dtype='<f4').reshape(2, 2, 3) / 11). */
const NUMPY_FLOAT32 =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIsIDMpLCB9ICAgICAgICAgICAgICAgICAg' +
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAjC66PYwuOj7poos+jC66Pi+66D7pogs/uugiP4wuOj9ddFE/L7poPwAAgD8=';
/** np.save(f, np.asfortranarray(np.zeros((2, 3), dtype='u1'))). */
const NUMPY_FORTRAN =
  'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAg' +
  'ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAA=';

const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));

describe('parseNpy', () => {
  it('reads what NumPy writes: int64 labels and a float32 image array, shapes and values', () => {
    const labels = parseNpy(bytes(NUMPY_INT64), 'labels.npy');
    expect(labels.descr).toBe('<i8');
    expect(labels.shape).toEqual([3]);
    expect(Array.from(labels.data)).toEqual([1, 2, 3]);
    const images = parseNpy(bytes(NUMPY_FLOAT32), 'images.npy');
    expect(images.shape).toEqual([2, 2, 3]);
    expect(images.data[11]).toBeCloseTo(1, 6);
    expect(images.data[1]).toBeCloseTo(1 / 11, 6);
  });

  it('round-trips encodeNpy for uint8 without copying', () => {
    const data = Uint8Array.from({ length: 24 }, (_, i) => i * 10);
    const parsed = parseNpy(encodeNpy([2, 3, 4], data), 'x');
    expect(parsed.shape).toEqual([2, 3, 4]);
    expect(parsed.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(parsed.data)).toEqual(Array.from(data));
  });

  it('refuses Fortran order, big-endian, object dtypes, truncation and non-npy bytes, naming the source', () => {
    expect(() => parseNpy(bytes(NUMPY_FORTRAN), 'a.npy')).toThrow(/a\.npy: fortran_order is True/);
    const bigEndian = Buffer.from(encodeNpy([3], new Float32Array(3)))
      .toString('latin1')
      .replace("'<f4'", "'>f4'");
    expect(() => parseNpy(new Uint8Array(Buffer.from(bigEndian, 'latin1')), 'b.npy')).toThrow(/b\.npy: dtype >f4: big-endian/);
    const object = Buffer.from(encodeNpy([3], new Float32Array(3)))
      .toString('latin1')
      .replace("'<f4'", "'|O8'");
    expect(() => parseNpy(new Uint8Array(Buffer.from(object, 'latin1')), 'c.npy')).toThrow(/c\.npy: dtype \|O8/);
    const full = encodeNpy([4], new Float32Array(4));
    expect(() => parseNpy(full.subarray(0, full.length - 1), 'd.npy')).toThrow(
      /d\.npy: shape \(4\) of <f4 needs 16 bytes of data, the file has 15 \(truncated\)/,
    );
    expect(() => parseNpy(new Uint8Array([1, 2, 3]), 'e.npy')).toThrow(/e\.npy: not a \.npy file/);
  });
});
