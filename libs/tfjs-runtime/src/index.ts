export { describeBackend, isBackendName, selectBackend, type BackendInfo, type SelectBackendOptions } from './select-backend';
export { describeAdapter, isSoftwareAdapter, type GpuAdapterInfo, type WebGpuRoute } from './webgpu-backend';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './wasm-kernels/register-wasm-training-kernels';
export { yieldToEventLoop } from './yield-to-event-loop';
