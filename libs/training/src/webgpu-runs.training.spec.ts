import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTypeScriptChild } from './typescript-child.fixture';
import type { RunReport } from './webgpu-runs.fixture';
import { installed, relativeError } from './webgpu-spec.fixture';

// As webgpu-parity: skipped only where the optional `webgpu` package (Dawn for Node) is missing.
const describeWithDawn = installed('webgpu') ? describe : describe.skip;
if (!installed('webgpu')) console.warn('webgpu runs skipped: the optional package `webgpu` (Dawn for Node) is not installed');

describeWithDawn('a whole small run on webgpu (llvmpipe where there is no GPU) against the same run on cpu', () => {
  const reports: Partial<Record<'cpu' | 'webgpu', RunReport>> = {};
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-webgpu-runs-'));
    // One after the other, each in its own process: the two runs must not share a tfjs engine.
    for (const name of ['cpu', 'webgpu'] as const) {
      const out = join(dir, `${name}.json`);
      const child = await runTypeScriptChild(join(__dirname, 'webgpu-runs.fixture.ts'), [out, name]);
      if (child.code !== 0) throw new Error(`the ${name} run exited with ${String(child.code)}:\n${child.output}`);
      reports[name] = JSON.parse(readFileSync(out, 'utf8')) as RunReport;
    }
    const { cpu, webgpu } = reports as Record<'cpu' | 'webgpu', RunReport>;
    const seconds = (r: RunReport) => `${r.trainSeconds.toFixed(1)} s training + ${r.evaluationSeconds.toFixed(1)} s evaluation`;
    console.info(`whole run: webgpu ${seconds(webgpu)}, cpu ${seconds(cpu)}`);
  }, 600_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ran on webgpu, on an adapter it names', () => {
    expect(reports.cpu!.backend.name).toBe('cpu');
    expect(reports.webgpu!.backend).toMatchObject({ name: 'webgpu', adapter: { route: expect.any(String), software: expect.any(Boolean) } });
  });

  it('is chosen unforced only on a hardware adapter: never on llvmpipe', () => {
    const { backend, unforced } = reports.webgpu!;
    if (backend.adapter!.software) {
      expect(unforced!.backend.name).not.toBe('webgpu');
      expect(unforced!.log).toContainEqual(expect.stringMatching(/^tfjs backend webgpu skipped: only a software adapter was found/));
    } else {
      expect(['node-gpu', 'node', 'webgpu']).toContain(unforced!.backend.name);
    }
  });

  it('trains the epoch the cpu backend trains: the same loss, accuracies and weights', () => {
    const { cpu, webgpu } = reports as Record<'cpu' | 'webgpu', RunReport>;
    expect(webgpu.epoch.trainLoss).toBeCloseTo(cpu.epoch.trainLoss, 4);
    // An example whose FGSM gradient sign or arg-max sits on a float32 rounding edge may flip: one at most.
    expect(Math.abs(webgpu.epoch.cleanAccuracy - cpu.epoch.cleanAccuracy)).toBeLessThanOrEqual(1 / cpu.epoch.testExamples);
    expect(Math.abs(webgpu.epoch.adversarialAccuracy - cpu.epoch.adversarialAccuracy)).toBeLessThanOrEqual(1 / cpu.epoch.testExamples);
    expect(webgpu.weights).toHaveLength(cpu.weights.length);
    expect(relativeError(cpu.weights, webgpu.weights)).toBeLessThan(1e-4);
    // The run learned something on both: equal untrained weights would agree trivially.
    expect(cpu.epoch.cleanAccuracy).toBeGreaterThan(0.3);
  });

  it('evaluates the result with the standard suite as the cpu backend does', () => {
    const { cpu, webgpu } = reports as Record<'cpu' | 'webgpu', RunReport>;
    expect(webgpu.evaluation.map(({ epsilon, attack }) => [epsilon, attack])).toEqual(cpu.evaluation.map(({ epsilon, attack }) => [epsilon, attack]));
    expect(cpu.evaluation.map(({ attack }) => attack)).toEqual(expect.arrayContaining(['fgsm', 'pgd', 'apgd-ce', 'apgd-t', 'square', 'suite']));
    webgpu.evaluation.forEach((outcome, i) => {
      expect(Math.abs(outcome.cleanCorrect - cpu.evaluation[i].cleanCorrect)).toBeLessThanOrEqual(1);
      expect(Math.abs(outcome.robustCorrect - cpu.evaluation[i].robustCorrect)).toBeLessThanOrEqual(1);
    });
    // The attacks did something: at ε = 0.1 the suite breaks what was clean-correct.
    const suite = cpu.evaluation.find((o) => o.epsilon > 0 && o.attack === 'suite')!;
    expect(suite.robustCorrect).toBeLessThan(suite.cleanCorrect);
  });

  it('refuses what it cannot do, naming it: a synchronous read, and the JPEG defense', () => {
    const { cpu, webgpu } = reports as Record<'cpu' | 'webgpu', RunReport>;
    expect(cpu.syncReadError).toBeUndefined();
    expect(cpu.jpegError).toBeUndefined();
    expect(webgpu.syncReadError).toMatch(/^a synchronous tensor read \(dataSync\) on webgpu: .*OffscreenCanvas/);
    expect(webgpu.jpegError).toMatch(/^the jpeg defense cannot run on the webgpu backend/);
  });
});
