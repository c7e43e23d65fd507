import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { cpus } from 'node:os';
import { BACKEND_NAMES, type BackendName } from '@bulwark/spec';
import { registerWasmTrainingKernels } from './wasm-kernels/register-wasm-training-kernels';
import { describeAdapter, registerWebGpuBackend, type GpuAdapterInfo } from './webgpu-backend';

export interface BackendInfo {
  name: BackendName;
  tfjsVersion: string;
  threads: number;
  /** Whether it computes on a GPU (node-gpu, or webgpu on a hardware adapter): what lets a worker take GPU runs. */
  gpu: boolean;
  /** webgpu only: the adapter it runs on. */
  adapter?: GpuAdapterInfo;
}

export interface SelectBackendOptions {
  /** Use exactly this backend (BULWARK_BACKEND) and fail if it does not load. */
  forced?: BackendName;
  log?: (line: string) => void;
}

/** Optional dependencies: absent wherever libtensorflow could not be downloaded. */
const NATIVE_PACKAGES: Partial<Record<BackendName, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

/** Both native packages register their kernels under this one tfjs backend name. */
const NATIVE_TFJS_BACKEND = 'tensorflow';

type Attempt = { ok: true; threads: number; adapter?: GpuAdapterInfo } | { ok: false; reason: string };

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}

/**
 * Activates the fastest backend that loads: tfjs-node-gpu → tfjs-node → webgpu (hardware adapter
 * only) → wasm → cpu. A native package that is
 * missing or broken costs one log line, never a stack trace, because on machines without them
 * that is the normal case. A forced backend that fails is an error, never replaced by another.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { forced } = options;
  if (forced !== undefined) {
    if (!isBackendName(forced)) {
      throw new Error(`BULWARK_BACKEND='${String(forced)}' is not one of ${BACKEND_NAMES.join(', ')}`);
    }
    const attempt = await tryBackend(forced, true);
    if (!attempt.ok) {
      throw new Error(`BULWARK_BACKEND=${forced} but that TensorFlow.js backend could not be loaded: ${attempt.reason}`);
    }
    return info(forced, attempt);
  }
  for (const name of BACKEND_NAMES) {
    const attempt = await tryBackend(name, false);
    if (attempt.ok) {
      return info(name, attempt);
    }
    log(`tfjs backend ${name} skipped: ${attempt.reason}`);
  }
  throw new Error('no TensorFlow.js backend could be loaded, not even cpu');
}

async function tryBackend(name: BackendName, forced: boolean): Promise<Attempt> {
  const nativePackage = NATIVE_PACKAGES[name];
  try {
    if (nativePackage !== undefined) {
      loadOptionalPackage(nativePackage);
    }
    const adapter = name === 'webgpu' ? await registerWebGpuBackend({ allowSoftware: forced }) : undefined;
    const tfjsName = nativePackage !== undefined ? NATIVE_TFJS_BACKEND : name;
    if (name === 'wasm') {
      // Before setBackend, so that initialising the backend also runs the overrides' setup.
      registerWasmTrainingKernels();
    }
    if (!(await tf.setBackend(tfjsName))) {
      return { ok: false, reason: `tfjs backend '${tfjsName}' failed to initialise` };
    }
    await tf.ready();
    return { ok: true, threads: threadsOf(name), adapter };
  } catch (error) {
    return { ok: false, reason: describeLoadError(error, nativePackage) };
  }
}

/**
 * `require` through a variable: TypeScript then needs no type declarations for packages
 * that are usually not installed, and bundlers do not try to resolve them.
 */
function loadOptionalPackage(id: string): void {
  const load: (moduleId: string) => unknown = require;
  load(id);
}

function describeLoadError(error: unknown, nativePackage: string | undefined): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (nativePackage !== undefined && code === 'MODULE_NOT_FOUND' && String(error).includes(nativePackage)) {
    return `${nativePackage} is not installed`;
  }
  const message = error instanceof Error ? error.message : String(error);
  // First line only: loader errors append a require stack that says nothing useful here.
  return message.split('\n')[0];
}

function threadsOf(name: BackendName): number {
  switch (name) {
    case 'node-gpu':
    case 'node':
      return cpus().length;
    case 'wasm':
      // 1 in Node: tfjs-backend-wasm 4.22 disables its threaded build there.
      return getThreadsCount();
    case 'webgpu':
    case 'cpu':
      return 1;
  }
}

function info(name: BackendName, attempt: { threads: number; adapter?: GpuAdapterInfo }): BackendInfo {
  const { threads, adapter } = attempt;
  const gpu = name === 'node-gpu' || (adapter !== undefined && !adapter.software);
  return { name, tfjsVersion: tf.version.tfjs, threads, gpu, ...(adapter && { adapter }) };
}

/** One line for logs: "webgpu (tfjs 4.22.0, 1 thread(s), GPU: NVIDIA … via native)". */
export function describeBackend(backend: BackendInfo): string {
  const device = backend.adapter ? `, ${backend.gpu ? 'GPU' : 'no GPU'}: ${describeAdapter(backend.adapter)}` : backend.gpu ? ', GPU' : '';
  return `${backend.name} (tfjs ${backend.tfjsVersion}, ${backend.threads} thread(s)${device})`;
}
