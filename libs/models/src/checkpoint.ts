import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { ADAM_POWER_NAMES, adamPowers } from './optimizer-state';
import type { Unverified } from './unverified-json';

/**
 * Layout: MAGIC (8 bytes) | version (uint32 LE) | header length (uint32 LE) | header (UTF-8
 * JSON) | zero padding to a multiple of 8 | tensor data. Tensor data is raw little-endian,
 * each tensor at `offset` bytes from the start of the data section, 8-byte aligned.
 */
const MAGIC = Buffer.from('BWCKPT\r\n', 'latin1');
export const CHECKPOINT_VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 8;

export type CheckpointTensorRole = 'model' | 'optimizer' | 'optimizer-power';
type StoredDtype = 'float32' | 'int32';

export interface CheckpointTensorEntry {
  name: string;
  role: CheckpointTensorRole;
  shape: number[];
  dtype: StoredDtype;
  offset: number;
  byteLength: number;
}

export interface CheckpointHeader {
  format: 'bulwark-checkpoint';
  epoch: number;
  rngState: number[];
  modelName: string;
  optimizer: string;
  tfjsVersion: string;
  tensors: CheckpointTensorEntry[];
}

export interface SerializeCheckpointOptions {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** Epochs completed when the checkpoint was taken. */
  epoch: number;
  rngState: number[];
}

export interface RestoreTargets {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
}

export interface RestoredState {
  epoch: number;
  rngState: number[];
}

interface NamedValue {
  name: string;
  role: CheckpointTensorRole;
  tensor: tf.Tensor;
}

/** Model weights, optimizer state, epoch and RNG state in one self-describing buffer. */
export async function serializeCheckpoint({ model, optimizer, epoch, rngState }: SerializeCheckpointOptions): Promise<Buffer> {
  assertLittleEndianHost();
  // The first entry of getWeights() is a fresh iteration-count scalar; the rest are the
  // optimizer's live slot variables, which must not be disposed here.
  const optimizerWeights = await optimizer.getWeights();
  const powers = adamPowers(optimizer);
  const values: NamedValue[] = [
    ...model.weights.map((weight) => ({ name: weight.originalName, role: 'model' as const, tensor: weight.read() })),
    ...optimizerWeights.map(({ name, tensor }) => ({ name: canonicalSlotName(name, model.trainableWeights), role: 'optimizer' as const, tensor })),
    ...(powers === undefined ? [] : ADAM_POWER_NAMES.map((name) => ({ name, role: 'optimizer-power' as const, tensor: powers[name] }))),
  ];
  try {
    const tensors: CheckpointTensorEntry[] = [];
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const { name, role, tensor } of values) {
      if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
        throw new Error(`checkpoint: tensor ${name} has unsupported dtype ${tensor.dtype}`);
      }
      const data = (await tensor.data()) as Float32Array | Int32Array;
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const padded = align8(bytes.length);
      tensors.push({ name, role, shape: [...tensor.shape], dtype: tensor.dtype, offset, byteLength: bytes.length });
      chunks.push(bytes, Buffer.alloc(padded - bytes.length));
      offset += padded;
    }
    const header: CheckpointHeader = {
      format: 'bulwark-checkpoint',
      epoch,
      rngState: [...rngState],
      modelName: model.name,
      optimizer: optimizer.getClassName(),
      tfjsVersion: tf.version.tfjs,
      tensors,
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const preamble = Buffer.alloc(PREAMBLE_BYTES);
    MAGIC.copy(preamble, 0);
    preamble.writeUInt32LE(CHECKPOINT_VERSION, MAGIC.length);
    preamble.writeUInt32LE(headerBytes.length, MAGIC.length + 4);
    const headerEnd = PREAMBLE_BYTES + headerBytes.length;
    return Buffer.concat([preamble, headerBytes, Buffer.alloc(align8(headerEnd) - headerEnd), ...chunks]);
  } finally {
    optimizerWeights[0]?.tensor.dispose();
  }
}

/** Parses and validates the container without touching any tensors. */
export function readCheckpointHeader(bytes: Uint8Array): CheckpointHeader {
  return parse(bytes).header;
}

/**
 * Loads weights and optimizer state into `model` and `optimizer` (which may be freshly
 * created: Adam's lazily created moment variables are created here) and returns where the
 * run stood. Throws, changing nothing in the model, if the checkpoint does not fit it.
 */
export async function restoreCheckpoint(bytes: Uint8Array, { model, optimizer }: RestoreTargets): Promise<RestoredState> {
  assertLittleEndianHost();
  const { header, data } = parse(bytes);
  if (header.optimizer !== optimizer.getClassName()) {
    throw new Error(`checkpoint holds ${header.optimizer} state, cannot restore it into ${optimizer.getClassName()}`);
  }
  const byRole = (role: CheckpointTensorRole) => header.tensors.filter((entry) => entry.role === role);
  const modelEntries = byRole('model');
  const optimizerEntries = byRole('optimizer');
  const powerEntries = byRole('optimizer-power');
  assertModelFits(model, modelEntries);
  const powers = adamPowers(optimizer);
  if (powers !== undefined) {
    assertAdamStateFits(model, optimizerEntries, powerEntries);
  }

  const modelTensors = modelEntries.map((entry) => readTensor(data, entry));
  const optimizerTensors = optimizerEntries.map((entry) => ({ name: entry.name, tensor: readTensor(data, entry) }));
  const powerTensors = powerEntries.map((entry) => readTensor(data, entry));
  try {
    model.setWeights(modelTensors);
    const previous = await optimizer.getWeights();
    // setWeights rebuilds the slot variables from copies of ours (creating them on a fresh
    // optimizer); the ones it replaces would otherwise leak.
    await optimizer.setWeights(optimizerTensors);
    tf.dispose(previous.map(({ tensor }) => tensor));
    if (powers !== undefined) {
      powers.accBeta1.assign(powerTensors[0]);
      powers.accBeta2.assign(powerTensors[1]);
    }
  } finally {
    // Variables hold their own references to the data; these handles are ours to drop.
    tf.dispose([...modelTensors, ...optimizerTensors.map(({ tensor }) => tensor), ...powerTensors]);
  }
  return { epoch: header.epoch, rngState: [...header.rngState] };
}

/**
 * Loads only the model weights, for export and evaluation, where no optimizer exists.
 * Throws, changing nothing in the model, if the checkpoint does not fit it.
 */
export function restoreModelWeights(bytes: Uint8Array, model: tf.LayersModel): CheckpointHeader {
  assertLittleEndianHost();
  const { header, data } = parse(bytes);
  const entries = header.tensors.filter((entry) => entry.role === 'model');
  assertModelFits(model, entries);
  const tensors = entries.map((entry) => readTensor(data, entry));
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
  return header;
}

/**
 * tfjs names an optimizer's slot variables after the process-unique names of the variables they
 * track (`conv1/kernel_1/m` when the process built a `conv1` before), so the same weights and
 * state serialized in two processes differed in their header and hence in their SHA-256, which
 * the report uses to check that a re-trained run reproduced the checkpoint it evaluated. Named
 * after the weights' original names, they are the same in every process. Restoring matches
 * slots by position, so the names are only labels.
 */
function canonicalSlotName(name: string, trainable: tf.LayerVariable[]): string {
  const weight = trainable.find((w) => name.startsWith(`${w.name}/`));
  return weight === undefined ? name : `${weight.originalName}${name.slice(weight.name.length)}`;
}

/** sha256 of the serialized bytes, hex: identifies a checkpoint in the database and in logs. */
export function checkpointDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parse(bytes: Uint8Array): { header: CheckpointHeader; data: Uint8Array } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < PREAMBLE_BYTES || !buffer.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a Bulwark checkpoint (bad magic)');
  }
  const version = buffer.readUInt32LE(MAGIC.length);
  if (version !== CHECKPOINT_VERSION) {
    throw new Error(`unsupported checkpoint version ${version} (this build reads ${CHECKPOINT_VERSION})`);
  }
  const headerLength = buffer.readUInt32LE(MAGIC.length + 4);
  const headerEnd = PREAMBLE_BYTES + headerLength;
  if (headerEnd > buffer.length) {
    throw new Error('truncated checkpoint: header runs past the end');
  }
  let header: Unverified<CheckpointHeader>;
  try {
    header = JSON.parse(buffer.subarray(PREAMBLE_BYTES, headerEnd).toString('utf8')) as Unverified<CheckpointHeader>;
  } catch {
    throw new Error('corrupt checkpoint: header is not JSON');
  }
  if (header.format !== 'bulwark-checkpoint' || !Array.isArray(header.tensors) || !Number.isInteger(header.epoch)) {
    throw new Error('corrupt checkpoint: header lacks format, epoch or tensors');
  }
  const data = buffer.subarray(align8(headerEnd));
  for (const entry of header.tensors as Unverified<CheckpointTensorEntry>[]) {
    const { shape, offset, byteLength } = entry;
    if (!Array.isArray(shape) || !shape.every((dim): dim is number => typeof dim === 'number' && Number.isInteger(dim) && dim >= 0)) {
      throw new Error(`corrupt checkpoint: tensor ${String(entry.name)} has no valid shape`);
    }
    const elements = shape.reduce((product, dim) => product * dim, 1);
    if (
      (entry.dtype !== 'float32' && entry.dtype !== 'int32') ||
      typeof offset !== 'number' ||
      byteLength !== elements * 4 ||
      offset % 8 !== 0 ||
      offset + byteLength > data.length
    ) {
      throw new Error(`corrupt or truncated checkpoint: tensor ${String(entry.name)} does not fit its declared bytes`);
    }
  }
  // Every field the checks above cover is sound; the rest is as this build wrote it.
  return { header: header as CheckpointHeader, data };
}

function readTensor(data: Uint8Array, entry: CheckpointTensorEntry): tf.Tensor {
  // Copied out: the source buffer's byteOffset need not be 4-byte aligned.
  const copy = new Uint8Array(entry.byteLength);
  copy.set(data.subarray(entry.offset, entry.offset + entry.byteLength));
  const values = entry.dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
  return tf.tensor(values, entry.shape, entry.dtype);
}

function assertModelFits(model: tf.LayersModel, entries: CheckpointTensorEntry[]): void {
  const weights = model.weights;
  const fits = entries.length === weights.length && entries.every((entry, i) => sameShape(entry.shape, weights[i].shape) && entry.dtype === weights[i].dtype);
  if (!fits) {
    const have = weights.map((w) => `${w.originalName}[${w.shape.join(',')}]`).join(', ');
    const want = entries.map((e) => `${e.name}[${e.shape}]`).join(', ');
    throw new Error(`checkpoint weights (${want}) do not fit model ${model.name} (${have})`);
  }
}

/** Adam's state is [iterations, first moments..., second moments...] in trainable-weight order. */
function assertAdamStateFits(model: tf.LayersModel, entries: CheckpointTensorEntry[], powers: CheckpointTensorEntry[]): void {
  const trainable = model.trainableWeights;
  const moments = entries.slice(1);
  const fits =
    entries.length > 0 &&
    entries[0].shape.length === 0 &&
    (moments.length === 0 || moments.length === 2 * trainable.length) &&
    moments.every((entry, i) => sameShape(entry.shape, trainable[i % trainable.length].shape)) &&
    powers.length === ADAM_POWER_NAMES.length &&
    powers.every((entry, i) => entry.name === ADAM_POWER_NAMES[i] && entry.shape.length === 0);
  if (!fits) {
    throw new Error(`checkpoint's Adam state does not fit the trainable weights of model ${model.name}`);
  }
}

/** Layer weight shapes are typed as possibly-unknown dims; weights' dims are always known. */
function sameShape(stored: number[], actual: ReadonlyArray<number | null>): boolean {
  return stored.length === actual.length && stored.every((dim, i) => dim === actual[i]);
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') {
    throw new Error('checkpoints store little-endian tensors; big-endian hosts are not supported');
  }
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
