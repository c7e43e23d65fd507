import { api } from './api.js';
import { lineChart } from './charts.js';
import { flatten, h, pct, runHref, short, statusBadge } from './dom.js';
import { curveSeries } from './evaluation-view.js';
import { metricSeries } from './run-view.js';

/** Two or more runs, or two or more evaluations, side by side: their curves overlaid, their specs in columns with differences marked. */
export async function compareView(root, ids) {
  if (ids.length < 2) {
    root.append(h('p', {}, 'Select two or more runs (or evaluations) in the runs table to compare them.'));
    return undefined;
  }
  const runs = await Promise.all(ids.map((id) => api('GET', `/runs/${id}`)));
  const charts = [];
  const label = (r) => `${r.kind === 'evaluation' ? 'eval' : r.kind} ${short(r.id)}`;
  root.append(h('h1', {}, `Comparing ${runs.length} ${runs.every((r) => r.kind === 'evaluation') ? 'evaluations' : 'runs'}`));
  if (runs.every((r) => r.kind === 'evaluation')) {
    const evaluations = await Promise.all(ids.map((id) => api('GET', `/evaluations/${id}`)));
    const worst = evaluations.map((e) => ({
      label: label(e.run),
      points: e.curve.map((p) => ({ x: p.epsilon, y: p.robustAccuracy.suite })),
      bold: true,
    }));
    const chart = lineChart({
      title: 'Worst-case robust accuracy against ε',
      xLabel: 'ε',
      yLabel: 'accuracy',
      series: worst,
      percent: true,
      testId: 'compare-curve',
    });
    charts.push(chart);
    const epsilons = [...new Set(evaluations.flatMap((e) => e.curve.map((p) => p.epsilon)))].sort((a, b) => a - b);
    root.append(
      h('div', { class: 'charts' }, chart.element),
      h(
        'table',
        { id: 'compare-table' },
        h('thead', {}, h('tr', {}, h('th', {}, ''), ...evaluations.map((e) => h('th', {}, h('a', { href: runHref(e.run) }, label(e.run)))))),
        h(
          'tbody',
          {},
          h('tr', {}, h('th', {}, 'status'), ...evaluations.map((e) => h('td', {}, statusBadge(e.run.status)))),
          h('tr', {}, h('th', {}, 'model run'), ...evaluations.map((e) => h('td', { class: 'mono' }, short(e.run.parentRunId)))),
          ...epsilons.map((eps) =>
            h(
              'tr',
              {},
              h('th', {}, `worst case at ε = ${eps}`),
              ...evaluations.map((e) => {
                const p = e.curve.find((q) => q.epsilon === eps);
                return h('td', {}, p ? `${pct(p.robustAccuracy.suite)} (clean ${pct(p.cleanAccuracy)}, n = ${p.n})` : '—');
              }),
            ),
          ),
          h(
            'tr',
            {},
            h('th', {}, 'validity flags raised'),
            ...evaluations.map((e) =>
              h(
                'td',
                {},
                Array.isArray(e.flags)
                  ? e.flags
                      .filter((f) => f.raised)
                      .map((f) => f.flag)
                      .join(', ') || 'none'
                  : '—',
              ),
            ),
          ),
        ),
      ),
    );
  } else {
    const metrics = await Promise.all(ids.map((id) => api('GET', `/runs/${id}/metrics`)));
    const series = metrics.map((m, i) => metricSeries(m.items, (key) => `${label(runs[i])} ${key}`));
    const loss = lineChart({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', series: series.flatMap((s) => s.loss), testId: 'compare-loss' });
    const accuracy = lineChart({
      title: 'Accuracy per epoch',
      xLabel: 'epoch',
      yLabel: 'accuracy',
      series: series.flatMap((s) => s.accuracy),
      percent: true,
      testId: 'compare-accuracy',
    });
    charts.push(loss, accuracy);
    root.append(h('div', { class: 'charts' }, loss.element, accuracy.element));
  }
  root.append(h('h2', {}, 'Specs side by side (differences highlighted)'), specColumns(runs, label));
  return () => charts.forEach((c) => c.destroy());
}

function specColumns(runs, label) {
  const flat = runs.map((r) => flatten({ kind: r.kind, status: r.status, ...r.spec }));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  return h(
    'table',
    { id: 'compare-specs' },
    h('thead', {}, h('tr', {}, h('th', {}, 'field'), ...runs.map((r) => h('th', {}, h('a', { href: runHref(r) }, label(r)))))),
    h(
      'tbody',
      {},
      ...keys.map((key) => {
        const values = flat.map((f) => f.get(key) ?? '—');
        const differs = new Set(values).size > 1;
        return h('tr', { class: differs ? 'diff' : undefined }, h('th', { class: 'mono' }, key), ...values.map((v) => h('td', { class: 'mono' }, v)));
      }),
    ),
  );
}
