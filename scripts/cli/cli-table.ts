/** A curve point as GET /evaluations/:id returns it. */
export interface CurvePoint {
  epsilon: number;
  n: number;
  cleanAccuracy: number;
  robustAccuracy: Partial<Record<string, number>>;
}

/** Left-aligned text columns, right-aligned numbers, two spaces between. */
export function formatTable(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * One row per ε: n, the clean accuracy, each attack's robust accuracy and the suite's
 * per-example worst case last (the figure to quote), as fractions with three decimals.
 */
export function formatCurve(points: readonly CurvePoint[]): string {
  const attacks = [...new Set(points.flatMap((p) => Object.keys(p.robustAccuracy)))].filter((a) => a !== 'suite');
  const columns = [...attacks, ...(points.some((p) => p.robustAccuracy.suite !== undefined) ? ['suite'] : [])];
  const header = ['epsilon', 'n', 'clean', ...columns.map((c) => (c === 'suite' ? 'worst case' : c))];
  const rows = [...points]
    .sort((a, b) => a.epsilon - b.epsilon)
    .map((p) => [String(p.epsilon), String(p.n), p.cleanAccuracy.toFixed(3), ...columns.map((c) => p.robustAccuracy[c]?.toFixed(3) ?? '-')]);
  return formatTable(
    header,
    rows,
    header.map(() => true),
  );
}
