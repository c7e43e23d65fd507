import { curveSeries, curveSvg } from './curve-figure';
import { reportMarkdown } from './report-markdown';
import type { ReportRow, StoredEvaluation, StoredTraining } from './report-rows';
import { checkTargets } from './report-targets';

export interface RenderInput {
  /** When the report was written (the markdown says so). */
  generatedAt: string;
  rows: ReportRow[];
  /** The records the rows come from, carried from the store or read now. */
  trainings: StoredTraining[];
  evaluations: StoredEvaluation[];
  /** Planned entries that have not succeeded (yet), with their status (report-schedule.ts, pendingEntries). */
  pending: string[];
}

/** A file of the report: its name in the output folder and its content. */
export interface RenderedFile {
  name: string;
  content: string;
}

const FIGURE_DATASETS = ['fashion-mnist', 'mnist'];

/** Every file of the report, from the rows and their records alone: the curve figures, robustness.json and robustness.md. */
export function renderReport(input: RenderInput): RenderedFile[] {
  const { rows, trainings, evaluations } = input;
  const figures = FIGURE_DATASETS.flatMap((dataset) => {
    const series = curveSeries(rows, dataset);
    if (!series.length) return [];
    const name = `robustness-curve-${dataset}.svg`;
    return [{ dataset, name, content: curveSvg(series, `${dataset}, cnn-small: accuracy under the standard suite`) }];
  });
  const backends = [
    ...new Set(trainings.flatMap(({ run: { backend } }) => (backend ? [`${backend.name} (${backend.threads} thread(s), tfjs ${backend.tfjsVersion})`] : []))),
  ];
  const markdown = reportMarkdown({
    generatedAt: input.generatedAt,
    rows,
    trainings,
    targets: checkTargets(rows),
    figures: figures.map(({ dataset, name }) => ({ dataset, file: name })),
    pending: input.pending,
    backend: backends.join('; ') || 'unknown',
    evaluationOptions: evaluations.flatMap(({ plan }) => (plan.extra ? [{ id: plan.id, options: plan.extra }] : [])),
  });
  return [
    ...figures.map(({ name, content }) => ({ name, content })),
    { name: 'robustness.json', content: `${JSON.stringify(rows, null, 2)}\n` },
    { name: 'robustness.md', content: markdown },
  ];
}
