import { gzipSync } from 'node:zlib';
import { encodeIdx } from './idx';
import { encodeNpy } from './npy';
import { assembleUploadedDataset, type AssembleUploadOptions, type DatasetPartName } from './uploaded-dataset';

const options: AssembleUploadOptions = { name: 'mine', testFraction: 0.25, seed: 1, limits: { maxPartBytes: 1 << 20, maxSide: 64 } };
/** n grey 4×5 images whose pixels are their index; labels cycle over 3 classes. */
function idxParts(n: number): Partial<Record<DatasetPartName, Uint8Array>> {
  const images = Uint8Array.from({ length: n * 20 }, (_, i) => Math.floor(i / 20));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  return { 'train-images': encodeIdx({ dims: [n, 4, 5], data: images }), 'train-labels': encodeIdx({ dims: [n], data: labels }) };
}

describe('assembleUploadedDataset', () => {
  it('takes gzipped IDX with a seeded split: shapes, classes from the labels, examples kept whole', () => {
    const parts = idxParts(8);
    const upload = assembleUploadedDataset({ 'train-images': gzipSync(parts['train-images']!), 'train-labels': gzipSync(parts['train-labels']!) }, options);
    expect(upload.format).toBe('idx');
    expect(upload.testSplit).toEqual({ kind: 'seeded', testFraction: 0.25, seed: 1 });
    expect([upload.train.size, upload.test.size]).toEqual([6, 2]);
    expect(upload.train.shape).toEqual([4, 5, 1]);
    expect(upload.train.classNames).toEqual(['0', '1', '2']);
    // Each example's pixels all equal its original index, whose label is index % 3.
    for (const part of [upload.train, upload.test]) {
      for (let i = 0; i < part.size; i++) expect(part.labels[i]).toBe(part.images[i * 20] % 3);
    }
  });

  it('takes .npy float RGB images in [0,1] with a given test split, scaled to uint8', () => {
    const images = Float32Array.from({ length: 4 * 2 * 2 * 3 }, (_, i) => (i % 2 === 0 ? 1 : 0.5));
    const labels = encodeNpy([4], Uint8Array.from([0, 1, 0, 1]));
    const upload = assembleUploadedDataset(
      { 'train-images': encodeNpy([4, 2, 2, 3], images), 'train-labels': labels, 'test-images': encodeNpy([4, 2, 2, 3], images), 'test-labels': labels },
      { ...options, classNames: ['cat', 'dog'] },
    );
    expect(upload.format).toBe('npy');
    expect(upload.testSplit).toEqual({ kind: 'official' });
    expect(upload.train.shape).toEqual([2, 2, 3]);
    expect(Array.from(upload.test.images.subarray(0, 2))).toEqual([255, 128]);
    expect(upload.test.classNames).toEqual(['cat', 'dog']);
  });

  it('refuses each problem with a message that names the part or field', () => {
    const parts = idxParts(8);
    const cases: Array<[Partial<Record<DatasetPartName, Uint8Array>>, Partial<AssembleUploadOptions>, RegExp]> = [
      [{ 'train-labels': parts['train-labels'] }, {}, /^train-images: missing/],
      [{ ...parts, 'train-labels': encodeIdx({ dims: [7], data: new Uint8Array(7).map((_, i) => i % 2) }) }, {}, /^train-labels: 7 labels for 8 images/],
      [{ ...parts, 'test-images': parts['train-images'] }, {}, /^test-labels: missing/],
      [{ ...parts }, { classNames: ['a', 'b'] }, /^train-labels: label 2 at index 2 is out of range/],
      [{ ...parts, 'train-labels': encodeIdx({ dims: [8], data: new Uint8Array(8) }) }, {}, /^train-labels: all 8 labels are one class/],
      [
        { ...parts, 'train-images': encodeNpy([8, 4, 5], new Float32Array(160).fill(1.5)) },
        {},
        /^train-images: pixel value 1\.5 at element 0 is outside \[0, 1\]/,
      ],
      [{ ...parts, 'train-images': encodeNpy([8, 4, 5, 2], new Uint8Array(320)) }, {}, /^train-images: images have 2 channels/],
      [{ ...parts, 'train-images': encodeNpy([8, 80], new Uint8Array(640)) }, {}, /^train-images: images must be N×H×W or N×H×W×C/],
      [{ ...parts, 'train-images': encodeNpy([8, 65, 1], new Uint8Array(520)) }, {}, /^train-images: images are 65×1: height and width must be 1\.\.64/],
      [{ ...parts, 'train-labels': encodeNpy([8], new Float32Array(8)) }, {}, /^train-labels: labels must be integers, got dtype <f4/],
      [{ ...parts, 'train-images': new Uint8Array([1, 2, 3, 4, 5]) }, {}, /^train-images: neither an IDX file nor a \.npy file/],
      [{ ...parts, 'train-images': gzipSync(new Uint8Array(2 << 20)) }, {}, /^train-images: decompresses to more than 1048576 bytes/],
      [{ ...parts, 'train-images': parts['train-images']!.subarray(0, 50) }, {}, /^train-images: truncated/],
      [{ ...parts }, { testFraction: 0.01 }, /^testFraction: splitting 8 examples/],
    ];
    for (const [given, extra, message] of cases) {
      expect(() => assembleUploadedDataset(given, { ...options, ...extra })).toThrow(message);
    }
  });
});
