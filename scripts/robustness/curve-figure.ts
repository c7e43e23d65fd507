import type { ReportRow } from './report-rows';

export interface CurveSeries {
  label: string;
  /** Dashed: PGD-20 alone on a defense as deployed, the figure a weak evaluation would publish. */
  dashed: boolean;
  points: Array<{ epsilon: number; accuracy: number }>;
}

/**
 * Accuracy against ε per defense and view of one dataset: ε = 0 is the clean accuracy. A
 * defense's naive view is drawn as PGD-20 alone sees it (the suite's Square already sees
 * through most masking, so the suite's naive line would hide what masking looks like).
 */
export function curveSeries(rows: ReportRow[], dataset: string): CurveSeries[] {
  const byLabel = new Map<string, CurveSeries>();
  // One training per defense: the curve-only points were measured at the plan's seed alone.
  for (const row of rows.filter((r) => r.dataset === dataset && !r.defense.endsWith('-detector') && r.replicaOf === undefined)) {
    const naive = row.attack === 'standard-naive';
    const label =
      row.attack === 'standard' ? row.defense : naive ? `${row.defense} (naive, PGD-20 alone)` : `${row.defense} (${row.attack.replace(/^standard-/, '')})`;
    const accuracy = naive ? (row.byAttack?.pgd ?? row.robust) : row.robust;
    const series = byLabel.get(label) ?? { label, dashed: naive, points: [{ epsilon: 0, accuracy: row.clean }] };
    if (!series.points.some((p) => p.epsilon === row.epsilon)) series.points.push({ epsilon: row.epsilon, accuracy });
    byLabel.set(label, series);
  }
  for (const series of byLabel.values()) series.points.sort((a, b) => a.epsilon - b.epsilon);
  return [...byLabel.values()];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A self-contained SVG line chart (no plotting dependency): robust accuracy against L∞ ε. */
export function curveSvg(series: CurveSeries[], title: string): string {
  // The legend sits right of the plot; at 12 px sans-serif a character is about 7 px wide.
  const legendWidth = 50 + 7 * Math.max(10, ...series.map((s) => s.label.length));
  const width = 420 + legendWidth;
  const height = 400;
  const margin = { left: 56, right: legendWidth, top: 36, bottom: 48 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const maxEpsilon = Math.max(0.05, ...series.flatMap((s) => s.points.map((p) => p.epsilon)));
  const x = (epsilon: number) => margin.left + (epsilon / maxEpsilon) * plotWidth;
  const y = (accuracy: number) => margin.top + (1 - accuracy) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let tick = 0; tick <= 10; tick += 2) {
    const accuracy = tick / 10;
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y(accuracy)}" y2="${y(accuracy)}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y(accuracy) + 4}" text-anchor="end">${accuracy.toFixed(1)}</text>`);
  }
  const epsilonTicks = [...new Set(series.flatMap((s) => s.points.map((p) => p.epsilon)))].sort((a, b) => a - b);
  for (const epsilon of epsilonTicks) {
    parts.push(`<line x1="${x(epsilon)}" x2="${x(epsilon)}" y1="${margin.top}" y2="${margin.top + plotHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x(epsilon)}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${epsilon}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 10}" text-anchor="middle">L∞ ε (inputs in [0, 1])</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">accuracy (ε = 0: clean)</text>`);
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    const path = s.points.map((p) => `${x(p.epsilon).toFixed(1)},${y(p.accuracy).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const p of s.points) parts.push(`<circle cx="${x(p.epsilon).toFixed(1)}" cy="${y(p.accuracy).toFixed(1)}" r="3" fill="${colour}"/>`);
    const legendY = margin.top + 10 + i * 18;
    parts.push(
      `<line x1="${margin.left + plotWidth + 12}" x2="${margin.left + plotWidth + 36}" y1="${legendY}" y2="${legendY}" ` +
        `stroke="${colour}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${margin.left + plotWidth + 42}" y="${legendY + 4}">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
