import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx, loadFashionMnist, subsetDataset } from '../../libs/data/src';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt } from '../support/processes';

jest.setTimeout(300_000);

const REPORT = join(__dirname, '..', '..', 'dist/scripts/robustness/report.js');
const TRAIN = 600;
const TEST = 200;
const EXAMPLES = 50;

interface ReportResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `report:robustness -- --plan` as a user runs it on their own data: a dataset uploaded over the
 * API, a plan file naming it, the report command against a real API and worker, and the same
 * command again, which must measure nothing anew.
 */
describe('the robustness report of a user plan on an uploaded dataset (API + worker processes)', () => {
  let cluster: TestCluster;
  let scratch: string;

  const report = (args: string[]): Promise<ReportResult> =>
    new Promise((resolve) => {
      const env = { ...process.env, BULWARK_API_KEY: cluster.auth.Authorization.replace(/^Bearer /, '') };
      execFile(process.execPath, [REPORT, '--api', cluster.base, ...args], { env, cwd: scratch }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
      });
    });
  const runCount = async () => (await cluster.call('GET', '/runs?limit=1')).body.total as number;

  beforeAll(async () => {
    assertBuilt();
    cluster = await startTestCluster('e2e-reportplan', { WORKER_CONCURRENCY: '2' }, { tenant: 'e2e-reportplan' });
    scratch = await mkdtemp(join(tmpdir(), 'bulwark-report-plan-'));
  });

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-8000)}`);
    }
  });

  it('trains, evaluates and reports a plain and an FGSM-trained MLP on the upload, then takes both from the store', async () => {
    const fashion = loadFashionMnist();
    const train = subsetDataset(fashion.train, TRAIN);
    const test = subsetDataset(fashion.test, TEST);
    const form = new FormData();
    form.append('name', 'my-clothes');
    form.append('classNames', JSON.stringify(train.classNames));
    const parts = {
      'train-images': encodeIdx({ dims: [TRAIN, 28, 28], data: train.images }),
      'train-labels': encodeIdx({ dims: [TRAIN], data: train.labels }),
      'test-images': encodeIdx({ dims: [TEST, 28, 28], data: test.images }),
      'test-labels': encodeIdx({ dims: [TEST], data: test.labels }),
    };
    for (const [name, bytes] of Object.entries(parts)) form.append(name, new Blob([bytes]), `${name}.idx`);
    const uploaded = await fetch(`${cluster.base}/datasets`, { method: 'POST', headers: cluster.auth, body: form });
    expect(uploaded.status).toBe(201);
    const { ref } = (await uploaded.json()) as { ref: string };

    const body = { model: 'mlp', epochs: 2, batchSize: 50, seed: 1 };
    // The standard suite's five attacks, lighter than its defaults so two evaluations fit in seconds on two cores.
    const light = { params: { pgd: { steps: 5 }, apgd: { steps: 10 }, apgdTargeted: { steps: 10, targetClasses: 1 }, square: { queries: 50 } } };
    const plan = {
      trainings: [
        { id: 'clothes-plain', dataset: ref, defense: 'none', body: { ...body, kind: 'train' } },
        {
          id: 'clothes-fgsm-at',
          dataset: ref,
          defense: 'fgsm-at',
          body: { ...body, kind: 'adversarial-training', attack: { name: 'fgsm', epsilon: 0.1 }, method: { name: 'fgsm', epsilon: 0.1 } },
        },
      ],
      evaluations: [
        { id: 'eval-clothes-plain', source: 'clothes-plain', defense: 'none', epsilons: [0.1], examples: EXAMPLES, extra: light },
        { id: 'eval-clothes-fgsm-at', source: 'clothes-fgsm-at', defense: 'fgsm-at', epsilons: [0.1], examples: EXAMPLES, extra: light },
      ],
    };
    await writeFile(join(scratch, 'my-plan.json'), JSON.stringify(plan, null, 2));

    const first = await report(['--plan', 'my-plan.json', '--out', 'my-report']);
    if (first.code !== 0) throw new Error(`report exited ${first.code}:\n${first.stdout}\n${first.stderr}`);
    const out = join(scratch, 'my-report');
    const markdown = await readFile(join(out, 'robustness.md'), 'utf8');
    const rows = JSON.parse(await readFile(join(out, 'robustness.json'), 'utf8')) as Array<Record<string, unknown>>;

    expect(rows).toEqual([
      expect.objectContaining({ dataset: ref, model: 'mlp', defense: 'none', attack: 'standard', epsilon: 0.1, n: EXAMPLES }),
      expect.objectContaining({ dataset: ref, model: 'mlp', defense: 'fgsm-at', attack: 'standard', epsilon: 0.1, n: EXAMPLES }),
    ]);
    for (const row of rows) expect(row.clean as number).toBeGreaterThanOrEqual(row.robust as number);
    const section = markdown.split('\n## my-clothes\n')[1]?.split('\n## ')[0];
    expect(section).toContain(`Uploaded dataset \`${ref}\`: 28×28×1 images, 10 classes, 600 training and 200 test examples`);
    expect(section).toContain(`Every row: n = ${EXAMPLES} test examples, evaluation seed 0.`);
    expect(section).toMatch(/^\| none \| standard \| 0\.1 \| /m);
    expect(section).toMatch(/^\| fgsm-at \| standard \| 0\.1 \| /m);
    const figure = `robustness-curve-${ref.replace(':', '-')}.svg`;
    expect(section).toContain(`](${figure})`);
    expect(existsSync(join(out, figure))).toBe(true);
    expect(markdown).not.toContain('Targets (issue 5)');
    console.log(
      `report of a user plan: ${rows.map((r) => `${String(r.defense)} clean ${String(r.clean)} robust ${String(r.robust)} (n = ${String(r.n)})`).join('; ')}`,
    );

    const runsBefore = await runCount();
    const second = await report(['--plan', 'my-plan.json', '--out', 'my-report']);
    if (second.code !== 0) throw new Error(`report exited ${second.code}:\n${second.stdout}\n${second.stderr}`);
    expect(second.stdout).toContain('2 of 2 evaluations are in my-report/robustness-store.json as planned; measuring the other 0');
    expect(await runCount()).toBe(runsBefore);
    expect(JSON.parse(await readFile(join(out, 'robustness.json'), 'utf8'))).toEqual(rows);
  });

  it('refuses a plan file naming what is wrong, before submitting anything', async () => {
    const runsBefore = await runCount();
    const plan = {
      trainings: [{ id: 'a', dataset: 'mnist', body: { kind: 'train', model: 'mlp', epochs: 1, batchSize: 64, seed: 1 } }],
      evaluations: [{ id: 'e', source: 'b', defense: 'none', epsilons: [0.1] }],
    };
    await writeFile(join(scratch, 'broken-plan.json'), JSON.stringify(plan));
    const refused = await report(['--plan', 'broken-plan.json', '--out', 'broken-report']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('broken-plan.json: evaluations[0] ("e"): source "b" is not a training of the plan');
    expect(existsSync(join(scratch, 'broken-report'))).toBe(false);
    expect(await runCount()).toBe(runsBefore);
  });
});
