import { gunzipSync } from 'node:zlib';
import { assertLabelsInRange, splitDataset, type Dataset } from './dataset';
import { parseIdx } from './idx';
import type { TestSplit } from './load-dataset';
import { isNpy, parseNpy } from './npy';

/** The parts of an upload, as the client named them (POST /datasets). */
export const DATASET_PART_NAMES = ['train-images', 'train-labels', 'test-images', 'test-labels'] as const;
export type DatasetPartName = (typeof DATASET_PART_NAMES)[number];

/** Refusal of an upload: `field` is the part or field at fault, named first in the message the client gets. */
export class DatasetUploadError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface UploadLimits {
  /** Largest decompressed part: bounds what a small gzip bomb can make the server hold. */
  maxPartBytes: number;
  /** Largest height or width. */
  maxSide: number;
}

export interface AssembleUploadOptions {
  name: string;
  /** Index = label. Absent: classes are named by their index, as many as the largest label + 1. */
  classNames?: string[];
  /** Used only when no test part is uploaded: the seeded hold-out. */
  testFraction: number;
  seed: number;
  limits: UploadLimits;
}

export interface AssembledUpload {
  train: Dataset;
  test: Dataset;
  testSplit: TestSplit;
  /** Of the train images part: what the client sent. */
  format: 'idx' | 'npy';
}

const GZIP_MAGIC = [0x1f, 0x8b];
const CHANNELS = [1, 3];
/** Labels are stored as uint8, and a class needs a label. */
const MAX_CLASSES = 256;

/**
 * Checks an uploaded labelled image dataset and turns it into the canonical layout every
 * dataset has (uint8 pixels, example-major, H×W×C; uint8 labels), with its test split: the
 * uploaded test parts, or a seeded hold-out of the train parts. Any problem throws a
 * DatasetUploadError naming the part or field; nothing is partially accepted.
 */
export function assembleUploadedDataset(parts: Partial<Record<DatasetPartName, Uint8Array>>, options: AssembleUploadOptions): AssembledUpload {
  const trainImagesBytes = parts['train-images'];
  const trainLabelsBytes = parts['train-labels'];
  if (!trainImagesBytes) throw new DatasetUploadError('train-images', 'missing: upload the images as an IDX or .npy file part');
  if (!trainLabelsBytes) throw new DatasetUploadError('train-labels', 'missing: upload the labels as an IDX or .npy file part');
  if ((parts['test-images'] === undefined) !== (parts['test-labels'] === undefined)) {
    const missing = parts['test-images'] === undefined ? 'test-images' : 'test-labels';
    throw new DatasetUploadError(missing, 'missing: test images and test labels come together (or leave both out for a seeded split)');
  }
  const trainImages = readImages('train-images', trainImagesBytes, options.limits);
  const trainLabels = readLabels('train-labels', trainLabelsBytes, options.limits);
  if (trainLabels.length !== trainImages.count) {
    throw new DatasetUploadError('train-labels', `${trainLabels.length} labels for ${trainImages.count} images in train-images: one label per image`);
  }
  let testPart: { images: ImageArray; labels: Uint8Array } | undefined;
  if (parts['test-images'] && parts['test-labels']) {
    const images = readImages('test-images', parts['test-images'], options.limits);
    const labels = readLabels('test-labels', parts['test-labels'], options.limits);
    if (labels.length !== images.count) {
      throw new DatasetUploadError('test-labels', `${labels.length} labels for ${images.count} images in test-images: one label per image`);
    }
    if (images.shape.join() !== trainImages.shape.join()) {
      throw new DatasetUploadError('test-images', `images are ${images.shape.join('×')} but train-images are ${trainImages.shape.join('×')}`);
    }
    testPart = { images, labels };
  }
  const classNames = resolveClassNames(options.classNames, [trainLabels, ...(testPart ? [testPart.labels] : [])]);
  const distinct = new Set(trainLabels).size;
  if (distinct < 2) throw new DatasetUploadError('train-labels', `all ${trainLabels.length} labels are one class: a classifier needs at least 2`);
  const dataset = (name: string, images: ImageArray, labels: Uint8Array): Dataset => ({
    name,
    images: images.data,
    labels,
    shape: images.shape,
    classNames,
    size: images.count,
  });
  if (testPart) {
    return {
      train: dataset(`${options.name}/train`, trainImages, trainLabels),
      test: dataset(`${options.name}/test`, testPart.images, testPart.labels),
      testSplit: { kind: 'official' },
      format: trainImages.format,
    };
  }
  const { testFraction, seed } = options;
  let split;
  try {
    split = splitDataset(dataset(options.name, trainImages, trainLabels), { testFraction, seed });
  } catch (error) {
    throw new DatasetUploadError('testFraction', (error as Error).message);
  }
  return { ...split, testSplit: { kind: 'seeded', testFraction, seed }, format: trainImages.format };
}

interface ImageArray {
  count: number;
  shape: [number, number, number];
  data: Uint8Array;
  format: 'idx' | 'npy';
}

function readImages(field: DatasetPartName, raw: Uint8Array, limits: UploadLimits): ImageArray {
  const { format, dims, data, descr } = readArray(field, raw, limits, 'images');
  if (dims.length !== 3 && dims.length !== 4) {
    throw new DatasetUploadError(field, `images must be N×H×W or N×H×W×C (channels last), got shape (${dims.join(', ')})`);
  }
  const [count, height, width, channels = 1] = dims;
  if (count === 0) throw new DatasetUploadError(field, 'holds no images');
  if (!CHANNELS.includes(channels)) throw new DatasetUploadError(field, `images have ${channels} channels: 1 (grey) or 3 (RGB, channels last) are accepted`);
  if (height === 0 || width === 0 || height > limits.maxSide || width > limits.maxSide) {
    throw new DatasetUploadError(field, `images are ${height}×${width}: height and width must be 1..${limits.maxSide}`);
  }
  return { count, shape: [height, width, channels], data: toPixels(field, data, descr), format };
}

function readLabels(field: DatasetPartName, raw: Uint8Array, limits: UploadLimits): Uint8Array {
  const { dims, data, descr } = readArray(field, raw, limits, 'labels');
  if (dims.length !== 1) throw new DatasetUploadError(field, `labels must be one-dimensional (N), got shape (${dims.join(', ')})`);
  if (descr.endsWith('f4') || descr.endsWith('f8')) throw new DatasetUploadError(field, `labels must be integers, got dtype ${descr}`);
  if (data instanceof Uint8Array) return data;
  const labels = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const label = data[i];
    if (!Number.isInteger(label) || label < 0 || label >= MAX_CLASSES) {
      throw new DatasetUploadError(field, `label ${label} at index ${i} is out of range: labels are class indices 0..${MAX_CLASSES - 1}`);
    }
    labels[i] = label;
  }
  return labels;
}

/** Pixels as uint8: uint8 as they are, floats (which must lie in [0, 1]) scaled to 0..255 and rounded. */
function toPixels(field: DatasetPartName, data: ArrayLike<number>, descr: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const float = descr.endsWith('f4') || descr.endsWith('f8');
  const pixels = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (float ? !(value >= 0 && value <= 1) : !(value >= 0 && value <= 255)) {
      const range = float ? '[0, 1] (float pixels)' : '0..255 (integer pixels)';
      throw new DatasetUploadError(field, `pixel value ${value} at element ${i} is outside ${range}`);
    }
    pixels[i] = float ? Math.round(value * 255) : value;
  }
  return pixels;
}

function readArray(
  field: DatasetPartName,
  raw: Uint8Array,
  limits: UploadLimits,
  what: 'images' | 'labels',
): { format: 'idx' | 'npy'; dims: number[]; data: ArrayLike<number>; descr: string } {
  const bytes = gunzipIfCompressed(field, raw, limits.maxPartBytes);
  try {
    if (isNpy(bytes)) {
      const array = parseNpy(bytes, field);
      return { format: 'npy', dims: array.shape, data: array.data, descr: array.descr };
    }
    if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0) {
      // The fourth byte of an IDX magic is its rank; parseIdx then checks the type byte and the sizes.
      const rank = bytes[3];
      if (what === 'images' ? rank !== 3 && rank !== 4 : rank !== 1) {
        throw new Error(`an IDX file of rank ${rank}: ${what} must be ${what === 'images' ? 'N×H×W (idx3) or N×H×W×C (idx4)' : 'N (idx1)'}`);
      }
      const array = parseIdx(bytes, { source: field, rank, what });
      return { format: 'idx', dims: array.dims, data: array.data, descr: '|u1' };
    }
  } catch (error) {
    const message = (error as Error).message;
    throw new DatasetUploadError(field, message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message);
  }
  throw new DatasetUploadError(field, `neither an IDX file nor a .npy file (gzip-compressed or not): expected ${what}`);
}

function gunzipIfCompressed(field: DatasetPartName, raw: Uint8Array, maxBytes: number): Uint8Array {
  if (raw[0] !== GZIP_MAGIC[0] || raw[1] !== GZIP_MAGIC[1]) return raw;
  try {
    const buffer = gunzipSync(raw, { maxOutputLength: maxBytes });
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new DatasetUploadError(field, `decompresses to more than ${maxBytes} bytes (DATASET_UPLOAD_LIMIT_BYTES)`);
    }
    throw new DatasetUploadError(field, `starts like a gzip file but does not decompress (${(error as Error).message})`);
  }
}

function resolveClassNames(given: string[] | undefined, labelSets: Uint8Array[]): string[] {
  let largest = 0;
  for (const labels of labelSets) for (const label of labels) largest = Math.max(largest, label);
  if (given === undefined) return Array.from({ length: largest + 1 }, (_, i) => String(i));
  if (given.length < 2 || given.length > MAX_CLASSES) {
    throw new DatasetUploadError('classNames', `names ${given.length} classes: a dataset has 2..${MAX_CLASSES}`);
  }
  try {
    labelSets.forEach((labels, i) => assertLabelsInRange(labels, given.length, i === 0 ? 'train-labels' : 'test-labels'));
  } catch (error) {
    const message = (error as Error).message;
    const field = message.slice(0, message.indexOf(':'));
    throw new DatasetUploadError(field, `${message.slice(field.length + 2)} named in classNames`);
  }
  return given;
}
