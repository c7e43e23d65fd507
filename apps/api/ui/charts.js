import { h } from './dom.js';

const PALETTE = ['#2458d6', '#d92d20', '#079455', '#dc6803', '#7a5af8', '#0e9384', '#c11574', '#475467'];

/**
 * A Chart.js line chart in a sized box. `series` are { label, points: [{x, y}], bold? }; `update`
 * replaces them in place (no flicker, no new canvas) when live data arrives.
 */
export function lineChart({ title, xLabel, yLabel, series, percent = false, testId }) {
  // Epochs are whole numbers; ε is not.
  const wholeX = xLabel === 'epoch';
  const canvas = h('canvas', { dataset: { chart: testId ?? title } });
  const box = h('div', { class: 'chart-box' }, canvas);
  const toDatasets = (all) =>
    all.map((s, i) => ({
      label: s.label,
      data: s.points,
      borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length],
      borderWidth: s.bold ? 3 : 1.5,
      borderDash: s.dashed ? [6, 4] : undefined,
      pointRadius: 3,
      // Chart.js draws lower orders on top: the worst case stays visible where an attack's line coincides with it.
      order: s.bold ? 0 : 1,
      tension: 0,
    }));
  const chart = new window.Chart(canvas, {
    type: 'line',
    data: { datasets: toDatasets(series) },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      plugins: { title: { display: true, text: title }, legend: { position: 'bottom' } },
      scales: {
        x: { type: 'linear', title: { display: true, text: xLabel }, ...(wholeX ? { ticks: { stepSize: 1, precision: 0 } } : {}) },
        y: {
          title: { display: true, text: yLabel },
          ...(percent ? { min: 0, max: 1, ticks: { callback: (v) => `${Math.round(v * 100)}%` } } : {}),
        },
      },
    },
  });
  return {
    element: box,
    chart,
    update(next) {
      chart.data.datasets = toDatasets(next);
      chart.update('none');
    },
    destroy: () => chart.destroy(),
  };
}
