import { curveSeries, curveSvg } from './curve-figure';
import { BUILT_IN_PLAN_DATASETS, figureFileOf } from './report-datasets';
import { reportMarkdown, UserPlanContext } from './report-markdown';
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
  /** A user's plan (--plan); absent: the built-in plan, with issue 5's targets. */
  userPlan?: UserPlanContext;
}

/** A file of the report: its name in the output folder and its content. */
export interface RenderedFile {
  name: string;
  content: string;
}

/** Every file of the report, from the rows and their records alone: the curve figures, robustness.json and robustness.md. */
export function renderReport(input: RenderInput): RenderedFile[] {
  const { rows, trainings, evaluations, userPlan } = input;
  const datasets = userPlan?.datasets ?? BUILT_IN_PLAN_DATASETS;
  const figures = datasets.flatMap(({ ref, title }) => {
    const series = curveSeries(rows, ref);
    if (!series.length) return [];
    const models = [...new Set(rows.filter((r) => r.dataset === ref).map((r) => r.model))].join(', ');
    // The built-in plan's figures name the dataset as runs do; a user's by its section's title (an upload's own name).
    const label = userPlan ? title : ref;
    return [{ dataset: ref, name: figureFileOf(ref), content: curveSvg(series, `${label}, ${models}: accuracy under the standard suite`) }];
  });
  const backends = [
    ...new Set(trainings.flatMap(({ run: { backend } }) => (backend ? [`${backend.name} (${backend.threads} thread(s), tfjs ${backend.tfjsVersion})`] : []))),
  ];
  const markdown = reportMarkdown({
    generatedAt: input.generatedAt,
    rows,
    trainings,
    datasets,
    ...(userPlan ? { userPlan } : { targets: checkTargets(rows) }),
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
