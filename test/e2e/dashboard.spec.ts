import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { Client } from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { encodeIdx } from '../../libs/data/src';
import { createTestKeyAt } from '../support/api-keys';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt, waitFor } from '../support/processes';

jest.setTimeout(300_000);

/** Debian's chromium (scripts/lib/machine.sh installs it where missing). */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** DASHBOARD_SCREENSHOTS=docs/screenshots refreshes the README's pictures; otherwise they go to a temporary folder. */
/**
 * Long enough (batches of 16) that the page's 2-second refresh lands mid-run at least once on a
 * fast machine; about 10 s on a loaded 2-core one.
 */
const EPOCHS = 6;
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS ?? join(tmpdir(), 'bulwark-dashboard-screenshots');

/** [label, number of points] per series of a Chart.js chart on the page (page code goes as text: the tests compile without the DOM's types). */
async function chartSeries(page: Page, chart: string): Promise<[string, number][]> {
  return page.evaluate<[string, number][]>(
    `Chart.getChart(document.querySelector('canvas[data-chart="${chart}"]')).data.datasets.map((d) => [d.label, d.data.length])`,
  );
}

/**
 * The dashboard at /ui in a real browser against a real API and worker: sign in with a key,
 * submit a run through the form (its validation messages first), watch its progress move without
 * a reload, evaluate it and read the curve and the gallery, and never see another tenant's run.
 */
describe('dashboard in Chromium (API + worker processes)', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  let memberKey: string;
  let otherTenantRun: string;
  /** Console errors other than failed loads (a 401 on a wrong key, a 403 the page expects): CSP violations, exceptions. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    assertBuilt();
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/lib/machine.sh does)`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    // A tenant of its own: the default one holds other test files' runs, cancelled ones among them.
    cluster = await startTestCluster('e2e-dashboard', {}, { tenant: `dashboard-${Date.now().toString(36)}` });
    memberKey = cluster.auth.Authorization.replace('Bearer ', '');
    // Another tenant's run, cancelled at once so the worker never spends time on it: it exists, and must show nowhere.
    const otherKey = await createTestKeyAt(cluster.env.DATABASE_URL, { tenant: `other-${Date.now().toString(36)}` });
    const other = { Authorization: `Bearer ${otherKey}`, 'content-type': 'application/json' };
    const submitted = await fetch(`${cluster.base}/runs`, {
      method: 'POST',
      headers: other,
      body: JSON.stringify({ kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: 9 }),
    });
    expect(submitted.status).toBe(201);
    otherTenantRun = ((await submitted.json()) as { id: string }).id;
    expect((await fetch(`${cluster.base}/runs/${otherTenantRun}/cancel`, { method: 'POST', headers: other })).status).toBe(202);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  afterEach(async () => {
    // A locator that times out fails a test without a failed assertion: the page's own errors are printed whenever there are any.
    if (pageErrors.length || expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      const shown = await page.innerText('body').catch((err: unknown) => String(err));
      console.log(
        `--- page errors ---\n${pageErrors.join('\n')}\n--- page ---\n${shown.slice(0, 3000)}\n` +
          `--- api ---\n${cluster.api.output().slice(-4000)}\n--- worker ---\n${cluster.worker.output().slice(-6000)}`,
      );
    }
  });

  it('serves the page publicly under a strict Content-Security-Policy, with Chart.js from the API', async () => {
    const html = await fetch(`${cluster.base}/ui/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('<script src="vendor/chart.umd.js" defer></script>');
    const chart = await fetch(`${cluster.base}/ui/vendor/chart.umd.js`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get('content-type')).toMatch(/javascript/);
    expect(await chart.text()).toContain('Chart');
    // The page holds no data: the API behind it still wants a key.
    expect((await fetch(`${cluster.base}/runs`)).status).toBe(401);
  });

  it('signs in with a key, refusing a wrong one, and keeps it in sessionStorage only', async () => {
    await page.goto(`${cluster.base}/ui/`);
    await page.fill('#api-key', 'not-a-key');
    await page.click('#sign-in');
    await page.waitForSelector('#sign-in-error:has-text("unknown or revoked API key")');
    await page.fill('#api-key', memberKey);
    await page.click('#sign-in');
    await page.waitForSelector('#runs-table');
    expect(await page.evaluate("sessionStorage.getItem('bulwark.apiKey')")).toBe(memberKey);
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(page.url()).not.toContain(memberKey);
  });

  let runId: string;
  let evaluationId: string;

  it("submits a run through the form, showing the API's validation messages next to their fields first", async () => {
    await page.click('a[href="#/submit/run"]');
    await page.fill('#run-form-epochs', '0');
    await page.fill('#run-form-batchSize', 'lots');
    await page.click('#run-form-submit');
    await page.waitForSelector('[data-error-for="epochs"]:has-text("epochs must not be less than 1")');
    expect(await page.textContent('[data-error-for="batchSize"]')).toMatch(/^batchSize /);
    expect(await page.textContent('[data-error-for="model"]')).toBe('');

    await page.fill('#run-form-epochs', String(EPOCHS));
    await page.fill('#run-form-batchSize', '16');
    await page.fill('#run-form-seed', '5');
    await page.click('#run-form-submit');
    await page.waitForURL(/#\/runs\/[0-9a-f-]{36}$/);
    runId = page.url().split('/').pop()!;
    expect((await cluster.call('GET', `/runs/${runId}`)).body.spec).toMatchObject({ kind: 'train', epochs: EPOCHS, batchSize: 16, seed: 5, model: 'mlp' });
  });

  it("shows the run's progress moving in the runs table without a reload", async () => {
    await page.click('a[href="#/runs"]');
    await page.waitForSelector(`#runs-table tr[data-run-id="${runId}"]`);
    // A reload or a navigation would lose this.
    await page.evaluate('window.dashboardTestMarker = true');
    const seen = new Set<string>();
    const statuses = new Set<string>();
    await waitFor(
      'the run to succeed in the table',
      async () => {
        const row = await page.$eval(`#runs-table tr[data-run-id="${runId}"]`, (tr) => ({
          progress: tr.querySelector('.progress')!.getAttribute('data-progress')!,
          status: tr.querySelector('.status')!.getAttribute('data-status')!,
        }));
        seen.add(row.progress);
        statuses.add(row.status);
        return row.status === 'succeeded' || row.status === 'failed';
      },
      240_000,
      100,
    );
    expect([...statuses]).toContain('succeeded');
    // Through the event stream where the API serves GET /events, else by polling.
    const events = await fetch(`${cluster.base}/events`, { headers: { ...cluster.auth, accept: 'text/event-stream' } });
    const streamed = events.ok && (events.headers.get('content-type') ?? '').startsWith('text/event-stream');
    await events.body?.cancel();
    expect(await page.getAttribute('#live-state', 'data-mode')).toBe(streamed ? 'stream' : 'polling');
    expect(seen.has('100')).toBe(true);
    // At least one step between start and end was drawn as it happened.
    expect([...seen].some((p) => Number(p) > 0 && Number(p) < 100)).toBe(true);
    expect(await page.evaluate('window.dashboardTestMarker')).toBe(true);
  });

  it('shows the run: charts per epoch, every hyperparameter, checkpoints and lineage', async () => {
    await page.click(`#runs-table tr[data-run-id="${runId}"] a`);
    await page.waitForSelector('#checkpoints tr[data-checkpoint-id]');
    expect(await page.$$eval('#checkpoints tr[data-checkpoint-id]', (rows) => rows.length)).toBe(EPOCHS);
    // Metrics and checkpoints load side by side: the chart may be drawn a moment after the table.
    await waitFor('the accuracy chart', async () => (await chartSeries(page, 'accuracy')).length > 0, 10_000, 100);
    const points = await chartSeries(page, 'accuracy');
    expect(points).toEqual(expect.arrayContaining([['test_clean_accuracy', EPOCHS]]));
    const spec = await page.textContent('#spec');
    for (const field of ['epochs', 'batchSize', 'seed', 'learningRate', 'attack.epsilon', 'optimizer.name']) expect(spec).toContain(field);
    // The lineage loads beside the checkpoints too.
    await page.waitForSelector(`#lineage [data-lineage-run="${runId}"]`);
    expect(await page.$$eval('#lineage [data-lineage-run]', (nodes) => nodes.map((n) => n.getAttribute('data-lineage-run')))).toEqual([runId]);

    // Downloads go through fetch with the key (a plain link could not send it): the bytes are the checkpoint's.
    const first = (await cluster.call('GET', `/runs/${runId}/checkpoints`)).body.items[0];
    const row = `#checkpoints tr[data-checkpoint-id="${first.id}"]`;
    const [checkpointFile] = await Promise.all([page.waitForEvent('download'), page.click(`${row} button:has-text("Download (")`)]);
    expect(checkpointFile.suggestedFilename()).toBe(`run-${runId}-epoch-${first.epoch}.bwckpt`);
    expect(
      createHash('sha256')
        .update(readFileSync(await checkpointFile.path()))
        .digest('hex'),
    ).toBe(first.sha256);
    // The TensorFlow.js export, where this API serves it (its route is listed in the OpenAPI document).
    const openApi = (await (await fetch(`${cluster.base}/docs/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const exported = '/runs/{id}/checkpoints/{checkpointId}/model.tar.gz' in openApi.paths;
    expect(await page.$$eval(`${row} button:has-text("TensorFlow.js model")`, (buttons) => buttons.length)).toBe(exported ? 1 : 0);
    if (exported) {
      const [archive] = await Promise.all([page.waitForEvent('download'), page.click(`${row} button:has-text("TensorFlow.js model")`)]);
      expect([...readFileSync(await archive.path()).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
      expect(await page.textContent(`${row} .load-snippet pre`)).toContain(`/runs/${runId}/checkpoints/${first.id}/model.json`);
    }
  });

  it('evaluates the run from its page and shows the curve, the worst case with n, the flags and the gallery', async () => {
    await page.click('a:has-text("Evaluate this model")');
    await page.waitForSelector('#evaluation-form');
    expect(await page.inputValue('#evaluation-form-runId')).toBe(runId);
    await page.fill('#evaluation-form-epsilons', '0, 0.1, 0.2');
    await page.fill('#evaluation-form-examples', '60');
    await page.click('#evaluation-form-submit');
    await page.waitForURL(/#\/evaluations\/[0-9a-f-]{36}$/);
    evaluationId = page.url().split('/').pop()!;
    await page.waitForSelector('#evaluation-headline [data-status="succeeded"]', { timeout: 180_000 });
    await page.waitForSelector('#gallery');

    const rows = await page.$$eval('#curve-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.map((r) => r[0])).toEqual(['0', '0.1', '0.2']);
    expect(rows.every((r) => r[1] === '60')).toBe(true);
    const stored = (await cluster.call('GET', `/evaluations/${evaluationId}`)).body;
    expect(rows[2][rows[2].length - 1]).toBe(`${(stored.curve[2].robustAccuracy.suite * 100).toFixed(1)}%`);
    const curve = (await chartSeries(page, 'curve')).map(([label]) => label);
    expect(curve).toEqual(['clean', 'fgsm', 'pgd', 'worst case (suite)']);

    const flags = await page.$$eval('#flags [data-flag]', (nodes) => nodes.map((n) => n.textContent));
    expect(flags.length).toBe((stored.flags as unknown[]).length);
    expect(flags.every((text) => text !== null && text.length > 80)).toBe(true);

    const examples = await page.$$eval('#gallery .example', (cards) =>
      cards.map((card) => ({
        images: [...card.querySelectorAll('canvas')].map((c) => `${c.dataset.image}:${c.width}x${c.height}`),
        text: card.textContent,
      })),
    );
    // At ε = 0 an "adversarial" example is the clean input itself: the gallery leaves those out.
    const shownExamples = (stored.examples as Array<{ epsilon: number }>).filter((e) => e.epsilon > 0);
    expect(examples).toHaveLength(shownExamples.length);
    expect(examples.length).toBeGreaterThan(0);
    expect(examples[0].images).toEqual(['clean:28x28', 'adversarial:28x28', 'perturbation:28x28']);
    const first = stored.examples.find((e: { epsilon: number }) => e.epsilon > 0);
    expect(examples[0].text).toContain(`clean → ${first.cleanPrediction}`);
    expect(examples[0].text).toContain(`adversarial → ${first.adversarialPrediction}`);
    // The adversarial image is the stored one, pixel for pixel.
    const drawn = await page.evaluate(`(() => {
      const c = document.querySelector('#gallery .example canvas[data-image="adversarial"]');
      const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return Array.from({ length: c.width * c.height }, (_, i) => rgba[i * 4]);
    })()`);
    expect(drawn).toEqual([...Buffer.from(first.adversarial, 'base64')]);
    await page.screenshot({ path: join(SCREENSHOTS, 'evaluation.png'), fullPage: true });
  });

  let hardenedId: string;
  let distilledId: string;

  it('draws the lineage base → hardened → distilled, each node with its robustness', async () => {
    const checkpoints = (await cluster.call('GET', `/runs/${runId}/checkpoints`)).body.items as Array<{ id: string; epoch: number }>;
    const last = checkpoints.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    const common = { dataset: 'mnist', model: 'mlp', epochs: 1, batchSize: 64, seed: 5 };
    const hardened = await cluster.call('POST', '/runs', {
      ...common,
      kind: 'adversarial-training',
      attack: { name: 'fgsm', epsilon: 0.1 },
      fromCheckpoint: last.id,
    });
    expect(hardened.status).toBe(201);
    hardenedId = hardened.body.id;
    expect((await cluster.runEnded(hardenedId, 120_000, 300)).status).toBe('succeeded');
    const teacher = ((await cluster.call('GET', `/runs/${hardenedId}/checkpoints`)).body.items as Array<{ id: string }>)[0];
    const distilled = await cluster.call('POST', '/runs', { ...common, kind: 'distillation', temperature: 20, teacherCheckpoint: teacher.id });
    expect(distilled.status).toBe(201);
    distilledId = distilled.body.id;
    expect((await cluster.runEnded(distilledId, 120_000, 300)).status).toBe('succeeded');

    await page.goto(`${cluster.base}/ui/#/runs/${distilledId}`);
    await page.waitForSelector(`#lineage [data-lineage-run="${runId}"]`);
    expect(await page.$$eval('#lineage [data-lineage-run]', (nodes) => nodes.map((n) => n.getAttribute('data-lineage-run')))).toEqual([
      runId,
      hardenedId,
      distilledId,
    ]);
    const texts = await page.$$eval('#lineage [data-lineage-run]', (nodes) => nodes.map((n) => n.textContent));
    expect(texts[1]).toContain('adversarial training (fgsm, ε = 0.1)');
    expect(texts[2]).toContain('distillation at T = 20');
    // The base model's node carries its evaluation's worst case at the largest ε.
    const worst = (await cluster.call('GET', `/evaluations/${evaluationId}`)).body.curve.at(-1);
    expect(await page.textContent(`#lineage [data-lineage-robustness="${runId}"]`)).toBe(
      `ε ${worst.epsilon}: robust ${(worst.robustAccuracy.suite * 100).toFixed(1)}% · clean ${(worst.cleanAccuracy * 100).toFixed(1)}%`,
    );
    expect(await page.textContent(`#lineage [data-lineage-robustness="${hardenedId}"]`)).toBe('not evaluated yet');

    // From the base, the hardened run hangs off it as a child.
    await page.goto(`${cluster.base}/ui/#/runs/${runId}`);
    await page.waitForSelector(`#lineage [data-lineage-run="${hardenedId}"]`);
    await page.screenshot({ path: join(SCREENSHOTS, 'run.png'), fullPage: false });
  });

  let detectorEvaluationId: string;

  it('evaluates with a detector through the form, shows detection rates and asks the deployed stack about an example', async () => {
    await page.goto(`${cluster.base}/ui/#/submit/evaluation?runId=${runId}`);
    await page.waitForSelector('#evaluation-form');
    await page.fill('#evaluation-form-epsilons', '0.2');
    await page.fill('#evaluation-form-examples', '30');
    await page.fill('#evaluation-form-extra', '{"detectors":[{"kind":"confidence"}],"validationExamples":5}');
    await page.click('#evaluation-form-submit');
    // The API's message about the too-small validation set, shown on the form.
    await page.waitForSelector('#evaluation-form-errors:has-text("validationExamples")');
    await page.fill('#evaluation-form-extra', '{"detectors":[{"kind":"confidence"}],"validationExamples":100}');
    await page.click('#evaluation-form-submit');
    await page.waitForURL(/#\/evaluations\/[0-9a-f-]{36}$/);
    detectorEvaluationId = page.url().split('/').pop()!;
    await page.waitForSelector('#evaluation-headline [data-status="succeeded"]', { timeout: 180_000 });
    await page.waitForSelector('#detection .detector[data-detector="confidence"]');

    const stored = (await cluster.call('GET', `/evaluations/${detectorEvaluationId}`)).body;
    const point = stored.detection.detectors[0].points[0];
    const attacks = await page.$$eval('#detection .detection-table tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-attack')));
    expect(attacks).toEqual([...point.outcomes.map((o: { attack: string }) => o.attack), 'worst-case']);
    expect(attacks).toContain('detector-aware-pgd');
    const worstCell = await page.textContent('#detection tr[data-attack="worst-case"] td:last-child');
    expect(worstCell).toBe(`${point.worstCase.stackRobust} / ${point.n} (${((100 * point.worstCase.stackRobust) / point.n).toFixed(1)}%)`);

    // The stack's answer on the page is the API's for the same pixels.
    const example = stored.examples.find((e: { epsilon: number }) => e.epsilon > 0);
    await page.click(`#gallery .example[data-example-id="${example.id}"] button:has-text("Ask the stack")`);
    await page.waitForSelector(`#gallery .stack-answer[data-example-id="${example.id}"] [data-input="adversarial"]`, { timeout: 60_000 });
    const toInput = (b64: string) => [...Buffer.from(b64, 'base64')].map((v) => v / 255);
    const answer = await cluster.call('POST', `/evaluations/${detectorEvaluationId}/predict`, {
      inputs: [toInput(example.clean), toInput(example.adversarial)],
      detector: 'confidence',
    });
    expect(answer.status).toBe(200);
    const shown = await page.$$eval(`#gallery .stack-answer[data-example-id="${example.id}"] [data-input]`, (rows) =>
      rows.map((row) => row.getAttribute('data-rejected')),
    );
    expect(shown).toEqual(answer.body.predictions.map((p: { rejected: boolean }) => String(p.rejected)));
    await page.screenshot({ path: join(SCREENSHOTS, 'detection.png'), fullPage: true });
    if (!answer.body.predictions[1].rejected)
      expect(await page.textContent(`#gallery .stack-answer[data-example-id="${example.id}"] [data-input="adversarial"]`)).toContain(
        `class ${answer.body.predictions[1].label}`,
      );
  });

  let cancelledEvaluationId: string;

  it('cancels an evaluation from its page', async () => {
    const submitted = await cluster.call('POST', '/evaluations', { runId, epsilons: [0.1, 0.2, 0.3], examples: 1024, suite: 'standard' });
    expect(submitted.status).toBe(201);
    const id = submitted.body.id as string;
    cancelledEvaluationId = id;
    await page.goto(`${cluster.base}/ui/#/evaluations/${id}`);
    await page.click('#evaluation-cancel');
    await page.waitForSelector('#evaluation-headline [data-status="cancelled"]', { timeout: 60_000 });
    expect((await cluster.call('GET', `/runs/${id}`)).body.status).toBe('cancelled');
  });

  it('compares the run with its evaluation, and shows the queues as a member may see them', async () => {
    await page.click('a[href="#/runs"]');
    await page.check(`#runs-table tr[data-run-id="${runId}"] input[type=checkbox]`);
    await page.check(`#runs-table tr[data-run-id="${evaluationId}"] input[type=checkbox]`);
    await page.click('#compare');
    await page.waitForSelector('#compare-specs');
    expect(await page.$$eval('#compare-specs thead th', (ths) => ths.length)).toBe(3);

    // Two evaluations of one model: their worst cases on one chart, per ε side by side.
    await page.goto(`${cluster.base}/ui/#/compare?ids=${evaluationId},${detectorEvaluationId}`);
    await page.waitForSelector('#compare-table');
    expect((await chartSeries(page, 'compare-curve')).length).toBe(2);
    const epsilons = await page.$$eval('#compare-table tbody th', (ths) => ths.map((th) => th.textContent));
    expect(epsilons).toEqual(expect.arrayContaining(['worst case at ε = 0.1', 'worst case at ε = 0.2']));
    await page.click('a[href="#/runs"]');

    await page.click('a[href="#/queues"]');
    await page.waitForSelector('#queues-admin-only');
    const admin = await browser.newPage();
    await admin.goto(`${cluster.base}/ui/`);
    await admin.fill('#api-key', await createTestKeyAt(cluster.env.DATABASE_URL, { role: 'admin' }));
    await admin.click('#sign-in');
    await admin.waitForSelector('#runs-table');
    await admin.click('a[href="#/queues"]');
    await admin.waitForSelector('#queue-counts tr[data-queue="training"]');
    expect(await admin.$$eval('#workers tbody tr', (rows) => rows.length)).toBe(1);
    await admin.close();
  });

  it('uploads a dataset from the page, offers it in the run form, and deletes it', async () => {
    // 40 grey 12×12 images in 3 classes, gzipped IDX as MNIST ships.
    const images = gzipSync(encodeIdx({ dims: [40, 12, 12], data: Uint8Array.from({ length: 40 * 144 }, (_, i) => Math.floor(i / 144) * 6) }));
    const labels = gzipSync(encodeIdx({ dims: [40], data: Uint8Array.from({ length: 40 }, (_, i) => i % 3) }));
    const file = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });
    await page.click('#datasets-link');
    await page.waitForSelector('#dataset-form');
    await page.fill('#dataset-form-name', 'shapes-ui');
    await page.setInputFiles('#dataset-form-train-labels', file('train-labels-idx1-ubyte.gz', labels));
    await page.click('#dataset-form-submit');
    await page.waitForSelector('[data-error-for="train-images"]:has-text("train-images: missing")');

    await page.setInputFiles('#dataset-form-train-images', file('train-images-idx3-ubyte.gz', images));
    await page.setInputFiles('#dataset-form-train-labels', file('train-labels-idx1-ubyte.gz', labels));
    await page.fill('#dataset-form-testFraction', '0.25');
    await page.fill('#dataset-form-seed', '5');
    await page.click('#dataset-form-submit');
    await page.waitForSelector('#datasets tr[data-dataset-id]');
    const row = await page.$eval('#datasets tr[data-dataset-id]', (tr) => ({ id: tr.getAttribute('data-dataset-id')!, text: tr.textContent }));
    expect(row.text).toContain(`upload:${row.id}`);
    expect(row.text).toContain('12×12×1');
    expect(row.text).toContain('30 / 10');

    await page.click('a[href="#/submit/run"]');
    await page.waitForSelector(`#run-form-dataset-list option[value="upload:${row.id}"]`, { state: 'attached' });

    await page.click('#datasets-link');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click(`#datasets tr[data-dataset-id="${row.id}"] button:has-text("Delete")`);
    await page.waitForSelector('#datasets:has-text("None uploaded yet.")');
    expect((await cluster.call('GET', `/datasets/${row.id}`)).status).toBe(404);
  });

  it("never shows another tenant's run", async () => {
    await page.click('a[href="#/runs"]');
    await page.waitForSelector(`#runs-table tr[data-run-id="${runId}"]`);
    // The other tenant's run is cancelled too: the filter shows this tenant's cancelled evaluation alone.
    await page.selectOption('#filter-status', 'cancelled');
    await waitFor(
      'the cancelled filter',
      async () =>
        (await page.$$eval('#runs-table tbody tr[data-run-id]', (trs) => trs.map((tr) => tr.getAttribute('data-run-id')))).join() === cancelledEvaluationId,
      10_000,
      100,
    );
    await page.selectOption('#filter-status', 'failed');
    await page.waitForSelector('#runs-table td:has-text("No runs match.")');
    await page.selectOption('#filter-status', '');
    await page.waitForSelector(`#runs-table tr[data-run-id="${runId}"]`);
    expect(await page.content()).not.toContain(otherTenantRun);
    await page.goto(`${cluster.base}/ui/#/runs/${otherTenantRun}`);
    await page.waitForSelector('[data-not-found]');
    expect(await page.content()).not.toContain('mnist · mlp');
    await page.goto(`${cluster.base}/ui/#/compare?ids=${runId},${otherTenantRun}`);
    await page.waitForSelector('[data-not-found]');
    expect(pageErrors).toEqual([]);
  });

  it('pages through more runs than one request returns', async () => {
    // 250 ended copies of the run, older than everything else, written straight to the table (the worker never sees them).
    const db = new Client({ connectionString: cluster.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO runs (tenant_id, kind, status, spec, progress, finished_at, created_at)
         SELECT tenant_id, kind, 'cancelled', spec, 0, now(), created_at - make_interval(days => g)
         FROM runs, generate_series(1, 250) AS g WHERE id = $1`,
        [runId],
      );
    } finally {
      await db.end();
    }
    const total = (await cluster.call('GET', '/runs?limit=1')).body.total as number;
    await page.goto(`${cluster.base}/ui/#/runs`);
    await page.reload();
    await page.waitForSelector(`#runs-table tr[data-run-id="${runId}"]`);
    const rows = () => page.$$eval('#runs-table tbody tr[data-run-id]', (trs) => trs.length);
    expect(await rows()).toBe(200);
    await page.click('#runs-more');
    await waitFor('the second page', async () => (await rows()) === total, 10_000, 100);
    expect(await page.isHidden('#runs-more')).toBe(true);
    expect(await page.textContent('#runs-table + p')).toContain(`${total} run(s)`);
    expect(pageErrors).toEqual([]);
  });
});
