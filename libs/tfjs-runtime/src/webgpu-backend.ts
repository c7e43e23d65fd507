import * as tf from '@tensorflow/tfjs';
import type * as WebGpuPackage from '@tensorflow/tfjs-backend-webgpu';

/** The GPU a webgpu backend computes on, as Dawn describes it: recorded on every run it takes. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Dawn's route to it: its default native API (Vulkan, Metal, D3D12) or OpenGL ES in compatibility mode. */
  route: WebGpuRoute;
  /** A CPU rasteriser (llvmpipe, lavapipe, SwiftShader) or Dawn's fallback adapter: correct, but far slower than wasm. */
  software: boolean;
}

export type WebGpuRoute = 'native' | 'opengles';

export interface WebGpuOptions {
  /** Accept a software adapter (BULWARK_BACKEND=webgpu); selection on its own never does. */
  allowSoftware: boolean;
}

/** Adapter names of the CPU implementations Mesa, Google and Dawn ship. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

/**
 * Dawn's routes in the order tried: its native API first, where GPUs are; OpenGL ES (compatibility
 * mode) where only an EGL driver exists, such as Mesa's llvmpipe on a machine without a GPU.
 */
const ROUTES: readonly { route: WebGpuRoute; flags: string[]; request: Record<string, unknown> }[] = [
  { route: 'native', flags: [], request: { powerPreference: 'high-performance' } },
  { route: 'opengles', flags: ['backend=opengles'], request: { powerPreference: 'high-performance', featureLevel: 'compatibility' } },
];

/** The parts of the `webgpu` package (Dawn for Node) used here; it ships no CommonJS types. */
interface DawnModule {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
}

/** What newer adapters expose and @webgpu/types 0.1.38 does not declare yet. */
interface AdapterWithInfo extends GPUAdapter {
  readonly info?: Partial<GPUAdapterInfo> & { description?: string; isFallbackAdapter?: boolean };
}

interface AcquiredAdapter {
  gpu: GPU;
  adapter: AdapterWithInfo;
  info: GpuAdapterInfo;
}

/**
 * Why webgpu cannot read a tensor synchronously here, if it cannot: tfjs-backend-webgpu's dataSync
 * goes through an OffscreenCanvas, which Node lacks. Bulwark's runs read asynchronously; a
 * synchronous read left somewhere must fail saying so. Undefined where an OffscreenCanvas exists.
 */
function syncReadsMissing(): string | undefined {
  if ('OffscreenCanvas' in globalThis) return undefined;
  return 'tfjs-backend-webgpu cannot read tensors synchronously without an OffscreenCanvas, which Node lacks';
}

let acquired: Promise<AcquiredAdapter> | undefined;
let registered: GpuAdapterInfo | undefined;

/**
 * Registers tfjs's `webgpu` backend on an adapter of our choosing, so that `tf.setBackend('webgpu')`
 * can then initialise it. tfjs-backend-webgpu's own registration asks for the adapter with
 * default options, which on Dawn's OpenGL ES route finds none; and it cannot tell a GPU from
 * llvmpipe. Throws, with the reason, when no acceptable adapter exists.
 */
export async function registerWebGpuBackend(options: WebGpuOptions): Promise<GpuAdapterInfo> {
  const { gpu, adapter, info } = await acquireAdapter();
  if (info.software && !options.allowSoftware) {
    throw new Error(`only a software adapter was found (${describeAdapter(info)}); BULWARK_BACKEND=webgpu uses it anyway`);
  }
  if (registered !== undefined) return registered;
  const device = await adapter.requestDevice(deviceDescriptor(adapter));
  // tfjs-backend-webgpu reads navigator.gpu to decide whether WebGPU exists; Node 20 has no navigator.
  const global = globalThis as { navigator?: { gpu?: GPU } };
  global.navigator ??= {};
  global.navigator.gpu = gpu;
  // Registered by the package itself where navigator.gpu existed before it was loaded (tfjs types
  // the lookup as never null; it is null for an unknown name).
  const existing: unknown = tf.findBackendFactory('webgpu');
  if (existing !== null) tf.removeBackend('webgpu');
  const { WebGPUBackend } = loadPackage('@tensorflow/tfjs-backend-webgpu') as typeof WebGpuPackage;
  tf.registerBackend('webgpu', () => withSyncReadError(new WebGPUBackend(device, adapter.info as GPUAdapterInfo)));
  registered = info;
  return info;
}

/** A synchronous read fails naming the cause, instead of tfjs's "OffscreenCanvas is not defined". */
function withSyncReadError(backend: WebGpuPackage.WebGPUBackend): WebGpuPackage.WebGPUBackend {
  const reason = syncReadsMissing();
  if (reason === undefined) return backend;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    try {
      return readSync(dataId);
    } catch (err) {
      if (err instanceof ReferenceError && err.message.includes('OffscreenCanvas')) {
        throw new Error(`a synchronous tensor read (dataSync) on webgpu: ${reason}; read it with await tensor.data(), or run this on another backend`);
      }
      throw err;
    }
  };
  return backend;
}

/** "llvmpipe-llvm-15… (OpenGL ES 3.2 Mesa 22.3.6) via opengles": what a log line or a probe prints. */
export function describeAdapter(info: GpuAdapterInfo): string {
  const name = [info.vendor, info.architecture, info.device].filter((part) => part !== '').join(' ') || 'unnamed adapter';
  return `${name}${info.description === '' ? '' : ` (${info.description})`} via ${info.route}${info.software ? ', software' : ''}`;
}

/** Whether Dawn describes an adapter as a CPU implementation. */
export function isSoftwareAdapter(info: Pick<GpuAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>, fallback: boolean): boolean {
  return fallback || SOFTWARE_ADAPTER.test([info.vendor, info.architecture, info.device, info.description].join(' '));
}

function acquireAdapter(): Promise<AcquiredAdapter> {
  acquired ??= findAdapter().catch((err: unknown) => {
    acquired = undefined;
    throw err;
  });
  return acquired;
}

/** The first hardware adapter on any route, else the first software one; Dawn is asked once per process. */
async function findAdapter(): Promise<AcquiredAdapter> {
  // Mesa's EGL needs a platform without a display server; a value the operator set wins.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  // Before navigator.gpu exists: the package then registers its kernels but not its own backend factory.
  loadPackage('@tensorflow/tfjs-backend-webgpu');
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  let software: AcquiredAdapter | undefined;
  for (const { route, flags, request } of ROUTES) {
    const gpu = dawn.create(flags);
    const adapter: AdapterWithInfo | null = await gpu.requestAdapter(request);
    if (adapter === null) continue;
    const candidate = { gpu, adapter, info: adapterInfo(adapter, route) };
    if (!candidate.info.software) return candidate;
    software ??= candidate;
  }
  if (software !== undefined) return software;
  throw new Error(
    'Dawn found no adapter (no Vulkan driver, and no EGL driver through OpenGL ES; ' +
      'without a GPU, Debian: apt-get install libegl-dev libegl-mesa0 libgl1-mesa-dri for llvmpipe)',
  );
}

/**
 * `require` through a variable: loaded only by workers that try webgpu, and TypeScript needs no
 * declarations for the optional `webgpu` package.
 */
function loadPackage(id: string): unknown {
  const load: (moduleId: string) => unknown = require;
  return load(id);
}

/** `webgpu` is an ES module; Node's `require` loads it (require(esm), Node ≥ 20.19). */
function loadDawn(): DawnModule {
  try {
    return loadPackage('webgpu') as DawnModule;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' && String(err).includes("'webgpu'")) throw new Error('the webgpu package (Dawn for Node) is not installed');
    throw err;
  }
}

function adapterInfo(adapter: AdapterWithInfo, route: WebGpuRoute): GpuAdapterInfo {
  const raw = adapter.info ?? {};
  const info = { vendor: raw.vendor ?? '', architecture: raw.architecture ?? '', device: raw.device ?? '', description: raw.description ?? '' };
  return { ...info, route, software: isSoftwareAdapter(info, raw.isFallbackAdapter === true || adapter.isFallbackAdapter) };
}

/** The limits and features tfjs-backend-webgpu's own registration asks for: its kernels size their workgroups by them. */
function deviceDescriptor(adapter: GPUAdapter): GPUDeviceDescriptor {
  const limits = adapter.limits;
  return {
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  };
}
