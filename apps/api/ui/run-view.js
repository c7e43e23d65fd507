import { api, download } from './api.js';
import { MODEL_ARCHIVE_PATH, MODEL_EXPORT_PATH, apiPaths } from './capabilities.js';
import { lineChart } from './charts.js';
import { bytes, errorBox, flatten, h, pct, progressBar, runHref, short, statusBadge, when } from './dom.js';

const ENDED = ['succeeded', 'failed', 'cancelled'];

/** Metric series of a run as chart series: losses on one chart, accuracies on the other. */
export function metricSeries(items, label = (key) => key) {
  const byKey = new Map();
  for (const m of items) {
    if (!byKey.has(m.key)) byKey.set(m.key, []);
    byKey.get(m.key).push({ x: m.step, y: m.value });
  }
  const pick = (test) => [...byKey].filter(([key]) => test(key)).map(([key, points]) => ({ label: label(key), points, bold: key === 'test_clean_accuracy' }));
  return { loss: pick((k) => k.endsWith('loss')), accuracy: pick((k) => k.endsWith('_accuracy')) };
}

export async function runView(root, id, { live, navigate }) {
  const run = await api('GET', `/runs/${id}`);
  if (run.kind === 'evaluation') {
    navigate(`#/evaluations/${id}`);
    return undefined;
  }
  const headline = h('div', { class: 'card', id: 'run-headline' });
  const lossChart = lineChart({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', series: [], testId: 'loss' });
  const accuracyChart = lineChart({
    title: 'Accuracy per epoch (test split)',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    series: [],
    percent: true,
    testId: 'accuracy',
  });
  const checkpoints = h('div', { id: 'checkpoints' });
  const evaluations = h('div', { id: 'run-evaluations' });
  const lineage = h('div', { id: 'lineage', class: 'lineage' });
  root.append(
    h('h1', {}, `${run.kind} run `, h('span', { class: 'mono' }, short(run.id))),
    headline,
    h('h2', {}, 'Training curves'),
    h('div', { class: 'charts' }, lossChart.element, accuracyChart.element),
    h('h2', {}, 'Lineage'),
    lineage,
    h('h2', {}, 'Checkpoints'),
    checkpoints,
    h('h2', {}, 'Evaluations'),
    evaluations,
    h('h2', {}, 'Spec (every hyperparameter, as resolved)'),
    specTable(run.spec),
  );

  function drawHeadline(r) {
    headline.replaceChildren(
      ...[
        h('p', {}, statusBadge(r.status), ' ', progressBar(r.progress, r.id), r.cancelRequestedAt && !ENDED.includes(r.status) ? ' cancel requested' : ''),
        r.waitingFor ? h('p', { class: 'muted' }, r.waitingFor) : null,
        r.error ? h('p', { class: 'error' }, r.error) : null,
        h(
          'p',
          { class: 'muted' },
          `${r.spec.dataset} · ${r.spec.model} · created ${when(r.createdAt)}`,
          r.startedAt ? ` · started ${when(r.startedAt)}` : '',
          r.finishedAt ? ` · finished ${when(r.finishedAt)}` : '',
          r.backend ? ` · backend ${r.backend.name} (tfjs ${r.backend.tfjsVersion})` : '',
          ` · attempt ${r.attempts}`,
        ),
        ENDED.includes(r.status)
          ? h('a', { href: `#/submit/evaluation?runId=${r.id}` }, 'Evaluate this model')
          : h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: async () => {
                  try {
                    drawHeadline(await api('POST', `/runs/${r.id}/cancel`));
                  } catch (err) {
                    headline.append(errorBox(err));
                  }
                },
              },
              'Cancel',
            ),
      ].filter(Boolean),
    );
  }

  async function loadCheckpoints() {
    const [{ items }, paths] = await Promise.all([api('GET', `/runs/${id}/checkpoints`), apiPaths()]);
    checkpoints.replaceChildren(
      items.length === 0
        ? h('p', { class: 'muted' }, 'None yet: one is written after each epoch.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Epoch', 'Size', 'SHA-256', 'Created', ''].map((t) => h('th', {}, t)))),
            h(
              'tbody',
              {},
              ...items.map((c) =>
                h(
                  'tr',
                  { dataset: { checkpointId: c.id } },
                  h('td', {}, String(c.epoch)),
                  h('td', {}, bytes(c.sizeBytes)),
                  h('td', { class: 'mono', title: c.sha256 }, c.sha256.slice(0, 16)),
                  h('td', {}, when(c.createdAt)),
                  h(
                    'td',
                    {},
                    downloadButton(`/runs/${id}/checkpoints/${c.id}`, `run-${id}-epoch-${c.epoch}.bwckpt`, `Download (${c.format})`),
                    ' ',
                    paths.has(MODEL_ARCHIVE_PATH)
                      ? downloadButton(
                          `/runs/${id}/checkpoints/${c.id}/model.tar.gz`,
                          `run-${id}-epoch-${c.epoch}-tfjs.tar.gz`,
                          'TensorFlow.js model (.tar.gz)',
                        )
                      : null,
                    ' ',
                    h('a', { href: `#/submit/evaluation?runId=${id}&checkpointEpoch=${c.epoch}` }, 'Evaluate'),
                    paths.has(MODEL_EXPORT_PATH) ? loadSnippet(`${location.origin}/runs/${id}/checkpoints/${c.id}/model.json`) : null,
                  ),
                ),
              ),
            ),
          ),
    );
  }

  async function loadEvaluations() {
    const { items } = await api('GET', `/evaluations?runId=${id}`);
    evaluations.replaceChildren(
      items.length === 0
        ? h('p', { class: 'muted' }, 'None yet.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Evaluation', 'Status', 'Suite', 'Worst case at the largest ε (n)'].map((t) => h('th', {}, t)))),
            h(
              'tbody',
              {},
              ...items.map((e) => {
                const last = e.curve[e.curve.length - 1];
                return h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: `#/evaluations/${e.run.id}`, class: 'mono' }, short(e.run.id))),
                  h('td', {}, statusBadge(e.run.status)),
                  h('td', {}, `${e.run.spec.suite} (${e.run.spec.norm})`),
                  h('td', {}, last ? `${pct(last.robustAccuracy.suite)} at ε = ${last.epsilon} (n = ${last.n})` : '—'),
                );
              }),
            ),
          ),
    );
  }

  async function loadLineage() {
    lineage.replaceChildren(lineageGraph(await api('GET', `/runs/${id}/lineage`)));
  }

  async function loadMetrics() {
    const { items } = await api('GET', `/runs/${id}/metrics`);
    const series = metricSeries(items);
    lossChart.update(series.loss);
    accuracyChart.update(series.accuracy);
  }

  let current = run;
  drawHeadline(run);
  await Promise.all([loadMetrics(), loadCheckpoints(), loadEvaluations(), loadLineage()]).catch((err) => root.append(errorBox(err)));

  let busy = false;
  const unsubscribe = live.subscribe(async (changed) => {
    if (busy) return;
    busy = true;
    try {
      const wasEnded = ENDED.includes(current.status);
      if (!wasEnded || changed === null || changed.has(id)) {
        current = await api('GET', `/runs/${id}`);
        drawHeadline(current);
        // An ended run's metrics and checkpoints no longer change.
        if (!wasEnded) await Promise.all([loadMetrics(), loadCheckpoints()]);
        if (ENDED.includes(current.status) && !wasEnded) await loadLineage();
      }
      // Its evaluations are other runs, whose events name them, not this one.
      await loadEvaluations();
    } catch {
      // The next change retries; the page keeps what it showed.
    } finally {
      busy = false;
    }
  });
  return () => {
    unsubscribe();
    lossChart.destroy();
    accuracyChart.destroy();
  };
}

/** A file only the key may fetch: downloaded through fetch, its failure shown beside the button. */
function downloadButton(path, name, label) {
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: () =>
        download(path, name).catch((err) => {
          button.after(errorBox(err));
        }),
    },
    label,
  );
  return button;
}

/** How to load the checkpoint straight from the API into an app: the URL and the header it needs. */
function loadSnippet(url) {
  return h(
    'details',
    { class: 'load-snippet' },
    h('summary', {}, 'Load in TensorFlow.js'),
    h('pre', { class: 'mono' }, `const model = await tf.loadLayersModel('${url}', {\n  requestInit: { headers: { Authorization: 'Bearer ' + apiKey } },\n});`),
  );
}

export function specTable(spec) {
  return h(
    'table',
    { class: 'spec', id: 'spec' },
    h('tbody', {}, ...[...flatten(spec)].map(([key, value]) => h('tr', {}, h('th', { class: 'mono' }, key), h('td', { class: 'mono' }, value)))),
  );
}

/**
 * A lineage node's headline: the worst case at the largest ε of its newest succeeded evaluation
 * (n is on the evaluation's page),
 * so base → hardened → distilled reads as a change in robustness, not only in names.
 */
function robustnessLine(evaluations) {
  const done = (evaluations ?? []).filter((e) => e.status === 'succeeded' && e.points.length);
  if (!done.length) return evaluations ? 'not evaluated yet' : '';
  const point = done[done.length - 1].points.at(-1);
  return `ε ${point.epsilon}: robust ${pct(point.robust)} · clean ${pct(point.clean)}`;
}

/** base → hardened → distilled, left to right, with the run's direct descendants after it. */
function lineageGraph(lineage) {
  const W = 250;
  const H = 74;
  const GAP = 50;
  const nodes = lineage.chain.map((n, i) => ({ ...n, x: 10 + i * (W + GAP), y: 10, current: n.id === lineage.runId }));
  const last = nodes[nodes.length - 1];
  const children = lineage.children.map((c, i) => ({ ...c, x: last.x + W + GAP, y: 10 + i * (H + 14), training: c.kind }));
  const width = (children.length ? last.x + 2 * W + GAP : last.x + W) + 20;
  const height = Math.max(H + 20, 10 + children.length * (H + 14) + 10);
  const svg = h('svg', { svg: true, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'lineage' });
  const arrow = (x1, y1, x2, y2) => [
    h('line', { svg: true, x1, y1, x2: x2 - 8, y2 }),
    h('polygon', { svg: true, points: `${x2},${y2} ${x2 - 9},${y2 - 5} ${x2 - 9},${y2 + 5}` }),
  ];
  const box = (n) =>
    h(
      'a',
      { svg: true, href: runHref(n), dataset: { lineageRun: n.id } },
      h('title', { svg: true }, `${n.kind} run ${n.id}: ${n.training}`),
      h('rect', { svg: true, x: n.x, y: n.y, width: W, height: H, rx: 6, class: n.current ? 'current' : undefined }),
      h('text', { svg: true, x: n.x + 8, y: n.y + 18 }, `${short(n.id)} · ${n.status}`),
      h('text', { svg: true, x: n.x + 8, y: n.y + 34 }, n.training.length > 37 ? `${n.training.slice(0, 36)}…` : n.training),
      h('text', { svg: true, x: n.x + 8, y: n.y + 50 }, n.dataset ? `${n.dataset} · ${n.model}` : ''),
      h('text', { svg: true, x: n.x + 8, y: n.y + 66, class: 'robustness', dataset: { lineageRobustness: n.id } }, robustnessLine(n.evaluations)),
    );
  nodes.forEach((n, i) => {
    if (i > 0) svg.append(...arrow(nodes[i - 1].x + W, nodes[i - 1].y + H / 2, n.x, n.y + H / 2));
    svg.append(box(n));
  });
  for (const c of children) {
    svg.append(...arrow(last.x + W, last.y + H / 2, c.x, c.y + H / 2), box(c));
  }
  return svg;
}
