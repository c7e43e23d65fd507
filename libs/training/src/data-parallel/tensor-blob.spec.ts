import { decodeExamples, decodeFloatArrays, encodeExamples, encodeFloatArrays } from './tensor-blob';
import { shardSeed, splitIntoShards } from './shard-split';

describe('tensor blobs', () => {
  it('round-trip float arrays bit for bit, including empty ones and odd offsets', () => {
    const arrays = [Float32Array.from([1.5, -0, Number.MIN_VALUE, 3.4e38]), new Float32Array(0), Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i))];
    const blob = encodeFloatArrays(arrays);
    // A Buffer sliced at an odd offset, as a Redis client may hand one back.
    const shifted = Buffer.concat([Buffer.from([7]), blob]).subarray(1);
    const decoded = decodeFloatArrays(shifted);
    expect(decoded.map((a) => Buffer.from(a.buffer).toString('hex'))).toEqual(arrays.map((a) => Buffer.from(a.buffer).toString('hex')));
  });

  it('refuses a blob of another kind or with trailing bytes', () => {
    const blob = encodeFloatArrays([Float32Array.from([1])]);
    expect(() => decodeFloatArrays(Buffer.concat([blob, Buffer.from([0, 0, 0, 0])]))).toThrow('trailing bytes');
    expect(() => decodeFloatArrays(Buffer.alloc(8))).toThrow('bad tag');
    expect(() => decodeFloatArrays(blob.subarray(0, blob.length - 1))).toThrow('too short');
  });

  it('round-trip a shard of examples', () => {
    const examples = {
      name: 'x',
      images: Uint8Array.from({ length: 3 * 2 * 2 * 3 }, (_, i) => i * 7),
      labels: Uint8Array.from([2, 0, 9]),
      shape: [2, 2, 3] as [number, number, number],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      size: 3,
    };
    const decoded = decodeExamples(encodeExamples(examples), 'x');
    expect(decoded).toEqual(examples);
    expect(() => decodeExamples(encodeExamples(examples).subarray(0, 30), 'x')).toThrow('expected');
  });
});

describe('splitIntoShards', () => {
  it('splits into contiguous shards whose sizes differ by at most one', () => {
    expect(splitIntoShards(10, 4)).toEqual([
      { start: 0, size: 3 },
      { start: 3, size: 3 },
      { start: 6, size: 2 },
      { start: 8, size: 2 },
    ]);
    expect(splitIntoShards(128, 4).map((r) => r.size)).toEqual([32, 32, 32, 32]);
  });

  it('gives a tail minibatch smaller than the shard count one shard per example', () => {
    expect(splitIntoShards(2, 4)).toEqual([
      { start: 0, size: 1 },
      { start: 1, size: 1 },
    ]);
  });

  it('refuses empty minibatches and non-positive shard counts', () => {
    expect(() => splitIntoShards(0, 2)).toThrow('at least one example');
    expect(() => splitIntoShards(4, 0)).toThrow('positive integer');
  });

  it('gives every shard of every step its own seed', () => {
    const seeds = new Set([0, 1, 2 ** 31 - 1].flatMap((step) => [0, 1, 63].map((k) => shardSeed(step, k))));
    expect(seeds.size).toBe(9);
    expect(Number.isSafeInteger(shardSeed(2 ** 31 - 1, 63))).toBe(true);
  });
});
