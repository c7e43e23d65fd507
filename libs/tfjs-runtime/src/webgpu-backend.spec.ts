import { describeBackend } from './select-backend';
import { describeAdapter, isSoftwareAdapter, type GpuAdapterInfo } from './webgpu-backend';

/** What Dawn reported for Mesa's llvmpipe through OpenGL ES on a machine without a GPU. */
const llvmpipe: GpuAdapterInfo = {
  vendor: '',
  architecture: '',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6',
  route: 'opengles',
  software: true,
};
const nvidia = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' };

describe('isSoftwareAdapter', () => {
  it.each([
    ['llvmpipe', llvmpipe],
    ['lavapipe', { vendor: 'mesa', architecture: '', device: 'lavapipe', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }],
    ['SwiftShader', { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)' }],
  ])('calls %s software', (_, info) => {
    expect(isSoftwareAdapter(info, false)).toBe(true);
  });

  it('calls a named GPU hardware, unless Dawn says it is its fallback adapter', () => {
    expect(isSoftwareAdapter(nvidia, false)).toBe(false);
    expect(isSoftwareAdapter(nvidia, true)).toBe(true);
  });
});

describe('describeBackend', () => {
  it('names the adapter and says that llvmpipe is no GPU', () => {
    expect(describeAdapter(llvmpipe)).toBe('llvmpipe-llvm-15-0-6-256-bits- (OpenGL version OpenGL ES 3.2 Mesa 22.3.6) via opengles, software');
    expect(describeBackend({ name: 'webgpu', tfjsVersion: '4.22.0', threads: 1, gpu: false, adapter: llvmpipe })).toBe(
      'webgpu (tfjs 4.22.0, 1 thread(s), no GPU: llvmpipe-llvm-15-0-6-256-bits- (OpenGL version OpenGL ES 3.2 Mesa 22.3.6) via opengles, software)',
    );
    expect(describeBackend({ name: 'node-gpu', tfjsVersion: '4.22.0', threads: 16, gpu: true })).toBe('node-gpu (tfjs 4.22.0, 16 thread(s), GPU)');
  });
});
