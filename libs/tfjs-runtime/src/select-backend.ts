import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { cpus } from 'node:os';
import { BACKEND_NAMES, type BackendName } from '@bulwark/spec';
import { registerWasmTrainingKernels } from './wasm-kernels/register-wasm-training-kernels';

export interface BackendInfo {
  name: BackendName;
  tfjsVersion: string;
  threads: number;
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

type Attempt = { ok: true; threads: number } | { ok: false; reason: string };

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(value);
}

/**
 * Activates the fastest backend that loads: tfjs-node-gpu → tfjs-node → wasm → cpu.
 * A native package that is missing or broken costs one log line, never a stack trace,
 * because on machines without them that is the normal case.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { forced } = options;
  if (forced !== undefined) {
    if (!isBackendName(forced)) {
      throw new Error(`BULWARK_BACKEND='${String(forced)}' is not one of ${BACKEND_NAMES.join(', ')}`);
    }
    const attempt = await tryBackend(forced);
    if (!attempt.ok) {
      throw new Error(`BULWARK_BACKEND=${forced} but that TensorFlow.js backend could not be loaded: ${attempt.reason}`);
    }
    return info(forced, attempt.threads);
  }
  for (const name of BACKEND_NAMES) {
    const attempt = await tryBackend(name);
    if (attempt.ok) {
      return info(name, attempt.threads);
    }
    log(`tfjs backend ${name} skipped: ${attempt.reason}`);
  }
  throw new Error('no TensorFlow.js backend could be loaded, not even cpu');
}

async function tryBackend(name: BackendName): Promise<Attempt> {
  const nativePackage = NATIVE_PACKAGES[name];
  try {
    if (nativePackage !== undefined) {
      loadOptionalPackage(nativePackage);
    }
    const tfjsName = nativePackage !== undefined ? NATIVE_TFJS_BACKEND : name;
    if (name === 'wasm') {
      // Before setBackend, so that initialising the backend also runs the overrides' setup.
      registerWasmTrainingKernels();
    }
    if (!(await tf.setBackend(tfjsName))) {
      return { ok: false, reason: `tfjs backend '${tfjsName}' failed to initialise` };
    }
    await tf.ready();
    return { ok: true, threads: threadsOf(name) };
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
    case 'cpu':
      return 1;
  }
}

function info(name: BackendName, threads: number): BackendInfo {
  return { name, tfjsVersion: tf.version.tfjs, threads };
}
