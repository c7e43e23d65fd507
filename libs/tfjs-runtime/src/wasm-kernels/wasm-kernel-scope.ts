import * as tf from '@tensorflow/tfjs';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The wasm backend's own kernels that the training kernels are built from. Captured once, at
 * registration, so that a kernel this project overrides (BatchMatMul, Sum, Identity, Cast) can
 * still reach the original, and so that composed kernels never call back into themselves.
 */
export const BASE_KERNEL_NAMES = [
  tf.Add,
  tf.AvgPool,
  tf.BatchMatMul,
  tf.Cast,
  tf.Conv2D,
  tf.DepthwiseConv2dNative,
  tf.Identity,
  tf.Max,
  tf.MaxPool,
  tf.Multiply,
  tf.PadV2,
  tf.Reshape,
  tf.Reverse,
  tf.Slice,
  tf.Step,
  tf.Sub,
  tf.Sum,
  tf.Transpose,
] as const;
export type BaseKernelName = (typeof BASE_KERNEL_NAMES)[number];

export interface BaseKernels {
  get(name: BaseKernelName): tf.KernelConfig;
}

export function captureBaseKernels(): BaseKernels {
  const kernels = new Map<BaseKernelName, tf.KernelConfig>();
  for (const name of BASE_KERNEL_NAMES) {
    // Typed as always found, but undefined for a kernel wasm does not have.
    const config = tf.getKernel(name, 'wasm') as tf.KernelConfig | undefined;
    if (config === undefined) {
      throw new Error(`the wasm backend has no '${name}' kernel to build the training kernels from`);
    }
    kernels.set(name, config);
  }
  return {
    get(name) {
      const config = kernels.get(name);
      if (config === undefined) {
        throw new Error(`wasm kernel '${name}' was not captured`);
      }
      return config;
    },
  };
}

export interface WindowAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Runs wasm kernels directly (not through the engine, so nothing is taped, tracked or
 * profiled twice) and frees every intermediate it made when the composed kernel returns.
 */
export class WasmKernelScope {
  private readonly owned: tf.TensorInfo[] = [];

  constructor(
    readonly backend: BackendWasm,
    private readonly base: BaseKernels,
  ) {}

  run(name: BaseKernelName, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const out = this.base.get(name).kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      this.owned.push(...out);
      throw new Error(`wasm kernel '${name}' returned several outputs where one was expected`);
    }
    this.owned.push(out);
    return out;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run(tf.Reshape, { x }, { shape });
  }

  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return this.run(tf.Transpose, { x }, { perm });
  }

  /** A small float32 constant (a scalar, a per-window table) on the wasm heap. */
  constant(values: number[], shape: number[]): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, 'float32', undefined, Float32Array.from(values));
    this.owned.push(out);
    return out;
  }

  /**
   * Every window of a convolution or pool over x, as channels: [N, Ho, Wo, C·K] where channel
   * c·K + k holds the k-th value (row-major) of channel c's window. A depthwise convolution with
   * one-hot filters, so padding, strides and rounding are exactly the forward op's.
   */
  windows(x: tf.TensorInfo, size: [number, number], window: WindowAttrs): tf.TensorInfo {
    const channels = x.shape[3];
    const windowSize = size[0] * size[1];
    const oneHot = new Array<number>(windowSize * channels * windowSize).fill(0);
    for (let k = 0; k < windowSize; k += 1) {
      for (let c = 0; c < channels; c += 1) {
        oneHot[(k * channels + c) * windowSize + k] = 1;
      }
    }
    return this.run(
      tf.DepthwiseConv2dNative,
      { x, filter: this.constant(oneHot, [size[0], size[1], channels, windowSize]) },
      { ...window, dilations: [1, 1], dataFormat: 'NHWC' },
    );
  }

  /** Zero (or `value`) padding; `paddings` holds [before, after] per axis. */
  pad(x: tf.TensorInfo, paddings: Array<[number, number]>, value = 0): tf.TensorInfo {
    if (paddings.every(([before, after]) => before === 0 && after === 0)) {
      return x;
    }
    return this.run(tf.PadV2, { x }, { paddings, constantValue: value });
  }

  /**
   * A box of a float32 tensor. The wasm Slice kernel copies its whole input out of the heap and
   * then moves one innermost row at a time in JavaScript; this copies one contiguous run per
   * outer index instead (runs merge across trailing axes that are taken whole).
   */
  crop(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    if (begin.every((b) => b === 0) && size.every((s, axis) => s === x.shape[axis])) {
      return x;
    }
    if (x.dtype !== 'float32') {
      return this.run(tf.Slice, { x }, { begin, size });
    }
    const out = this.backend.makeOutput(size, x.dtype);
    this.owned.push(out);
    // Views are taken after makeOutput: an allocation may grow (and detach) the heap.
    const source = this.backend.typedArrayFromHeap(x);
    const target = this.backend.typedArrayFromHeap(out);
    const rank = x.shape.length;
    // Trailing axes taken whole form one contiguous run together with the first cropped axis.
    let runAxis = rank - 1;
    while (runAxis > 0 && begin[runAxis] === 0 && size[runAxis] === x.shape[runAxis]) {
      runAxis -= 1;
    }
    const strides = tf.util.computeStrides(x.shape);
    const runLength = runAxis === rank - 1 ? size[runAxis] : size[runAxis] * strides[runAxis];
    const outerShape = size.slice(0, runAxis);
    const outerCount = tf.util.sizeFromShape(outerShape);
    const index = new Array<number>(runAxis).fill(0);
    for (let run = 0; run < outerCount; run += 1) {
      let offset = begin[runAxis] * (runAxis === rank - 1 ? 1 : strides[runAxis]);
      for (let axis = 0; axis < runAxis; axis += 1) {
        offset += (begin[axis] + index[axis]) * strides[axis];
      }
      target.set(source.subarray(offset, offset + runLength), run * runLength);
      for (let axis = runAxis - 1; axis >= 0; axis -= 1) {
        index[axis] += 1;
        if (index[axis] < outerShape[axis]) break;
        index[axis] = 0;
      }
    }
    return out;
  }

  /** Frees every intermediate except `result`, which the caller hands to the engine. */
  finish(result: tf.TensorInfo): tf.TensorInfo {
    let kept = false;
    for (const info of this.owned) {
      if (!kept && info === result) {
        kept = true;
        continue;
      }
      this.backend.disposeData(info.dataId);
    }
    this.owned.length = 0;
    if (!kept) {
      throw new Error('a composed wasm kernel must return a tensor it made, not one of its inputs');
    }
    return result;
  }

  abandon(): void {
    for (const info of this.owned) {
      this.backend.disposeData(info.dataId);
    }
    this.owned.length = 0;
  }
}

/** Kernel function signature of a kernel composed from other wasm kernels. */
export type ComposedKernel = (scope: WasmKernelScope, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo;

export function composedKernelFunc(base: BaseKernels, kernel: ComposedKernel): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const scope = new WasmKernelScope(wasmBackend(backend), base);
    try {
      return scope.finish(kernel(scope, inputs, attrs ?? {}));
    } catch (error) {
      scope.abandon();
      throw error;
    }
  };
}

/** The backend a kernel registered for 'wasm' runs on: the engine passes it untyped. */
export function wasmBackend(backend: unknown): BackendWasm {
  if (!(backend instanceof BackendWasm)) throw new Error('a wasm training kernel ran on another backend');
  return backend;
}

export function requireInput(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) {
    throw new Error(`kernel input '${name}' is missing`);
  }
  return info;
}

/** The kernels are written for NHWC, the only layout tfjs-layers and the wasm Conv2D use. */
export function assertChannelsLast(kernel: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${typeof dataFormat === 'string' ? dataFormat : JSON.stringify(dataFormat)}'`);
  }
}
