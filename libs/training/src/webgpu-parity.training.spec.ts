import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTypeScriptChild } from './typescript-child.fixture';
import type { ParityReport } from './webgpu-parity.fixture';
import { installed, relativeError } from './webgpu-spec.fixture';

/** Math.max of a large array (spreading 200k arguments overflows the stack). */
function largest(values: number[]): number {
  return values.reduce((a, b) => Math.max(a, b), -Infinity);
}

// The only reason to skip: `webgpu` is an optional dependency (prebuilt Dawn binaries). Where it is
// installed and Dawn finds no adapter at all (no Mesa EGL), the child fails and so does this spec.
const describeWithDawn = installed('webgpu') ? describe : describe.skip;
if (!installed('webgpu')) console.warn('webgpu parity skipped: the optional package `webgpu` (Dawn for Node) is not installed');

describeWithDawn('webgpu (Dawn) against the cpu backend, on whatever adapter Dawn finds (llvmpipe where there is no GPU)', () => {
  let report: ParityReport;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-webgpu-parity-'));
    const out = join(dir, 'report.json');
    const child = await runTypeScriptChild(join(__dirname, 'webgpu-parity.fixture.ts'), [out]);
    if (child.code !== 0) throw new Error(`the parity child exited with ${String(child.code)}:\n${child.output}`);
    report = JSON.parse(readFileSync(out, 'utf8')) as ParityReport;
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ran on webgpu, and says on which adapter', () => {
    expect(report.cpu.backend.name).toBe('cpu');
    expect(report.webgpu.backend).toMatchObject({ name: 'webgpu', adapter: { route: expect.any(String), software: expect.any(Boolean) } });
    // A software adapter never counts as a GPU, so it never takes a GPU run.
    expect(report.webgpu.backend.gpu).toBe(!report.webgpu.backend.adapter!.software);
  });

  it('refuses a synchronous read naming the cause (Node has no OffscreenCanvas), where the cpu backend reads', () => {
    expect(report.cpu.syncReadError).toBeUndefined();
    expect(report.webgpu.syncReadError).toMatch(/^a synchronous tensor read \(dataSync\) on webgpu: .*OffscreenCanvas.*run this on another backend$/);
  });

  it('gives the cpu backend’s cnn-small gradients for every weight and the input (conv, max pool, dense, softmax CE)', () => {
    expect(report.webgpu.names).toEqual(report.cpu.names);
    const errors = report.cpu.gradients.map((expected, i) => [report.cpu.names[i], relativeError(expected, report.webgpu.gradients[i])] as const);
    // The offending tensors by name, should any differ.
    expect(errors.filter(([, error]) => !(error < 1e-4))).toEqual([]);
    // Vanished gradients would match trivially.
    expect(report.cpu.gradients.every((values) => values.some((v) => v !== 0))).toBe(true);
  });

  it('takes the cpu backend’s Adam step', () => {
    const lr = report.learningRate;
    expect(report.webgpu.loss).toBeCloseTo(report.cpu.loss, 5);
    report.cpu.weightsAfterStep.forEach((expected, i) => {
      const actual = report.webgpu.weightsAfterStep[i];
      const initial = report.initialWeights[i];
      const diffs = expected.map((v, j) => Math.abs(v - actual[j]));
      // Adam's first step is lr·g/(|g| + 1e-7): where |g| is near 1e-7, float rounding of g moves
      // the update by a fraction of lr. Nearly every weight agrees to 1e-7; none by a sign flip.
      expect(diffs.filter((d) => d > 1e-7).length).toBeLessThanOrEqual(expected.length / 1000);
      expect(largest(diffs)).toBeLessThan(0.1 * lr);
      // The step moved the weights: a no-op on both backends would also agree.
      expect(largest(expected.map((v, j) => Math.abs(v - initial[j])))).toBeGreaterThan(0.5 * lr);
    });
  });
});
