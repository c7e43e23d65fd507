import { basename } from 'node:path';
import type { LearningRateScheduleSpec, TrainingRunSpec } from '@bulwark/spec';
import type { DatasetDescription } from './report-datasets';
import { ATTACK_NOTES, PlanFileLocation, ReportRow, StoredTraining, trainSecondsOf, trainWallSecondsOf } from './report-rows';
import { poolSeeds, SeedGroup } from './report-seeds';
import type { TargetCheck } from './report-targets';

/** What the report of a user's plan says beyond its rows: where it came from and its datasets. */
export interface UserPlanContext extends PlanFileLocation {
  /** The store file as the markdown links it from the output folder. */
  storeLink: string;
  /** One section each, in this order. */
  datasets: DatasetDescription[];
  /** The plan's evaluation ids (the Reproduce section's --only example names the first). */
  evaluationIds: string[];
}

export interface ReportContext {
  generatedAt: string;
  rows: ReportRow[];
  trainings: StoredTraining[];
  /** One section each, in this order (a dataset without rows has none). */
  datasets: DatasetDescription[];
  /** Issue 5's targets: the built-in plan's alone. */
  targets?: TargetCheck[];
  /** A user's plan: its own opening and Reproduce section, no targets. */
  userPlan?: UserPlanContext;
  /** Datasets with a figure, and the figure's file name next to the markdown. */
  figures: Array<{ dataset: string; file: string }>;
  /** Planned items that have not succeeded (yet), with their status. */
  pending: string[];
  backend: string;
  /** Per planned evaluation with options beyond the suite: its id and those options, as submitted. */
  evaluationOptions: Array<{ id: string; options: Record<string, unknown> }>;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(100 * x).toFixed(1)}%`);
/** A markdown table row of non-empty cells (an empty one would print as two spaces: the seeds' mean row is written out). */
const tableRow = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
const runAndEvaluation = (r: ReportRow) => `\`${r.runId.slice(0, 8)}\` · \`${r.evaluationId.slice(0, 8)}\``;

function describeTraining({ run, plan }: StoredTraining): string {
  const spec = run.spec as TrainingRunSpec;
  const method = spec.method
    ? Object.entries(spec.method)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(', ')
    : spec.temperature
      ? `temperature ${spec.temperature}`
      : 'clean';
  return (
    `${plan.id}: ${spec.kind} ${spec.model}, ${method}; ` +
    `${spec.epochs} epochs, batch ${spec.batchSize}, Adam ${spec.learningRate}${describeSchedule(spec.schedule)}, seed ${spec.seed}`
  );
}

function describeSchedule(schedule: LearningRateScheduleSpec | undefined): string {
  if (!schedule || schedule.kind === 'constant') return '';
  if (schedule.kind === 'piecewise') return `, ×${schedule.factor} after epoch(s) ${schedule.milestones.join(', ')}`;
  return `, ${schedule.kind} rate`;
}

/** `pgd`: the PGD column's heading (PGD-20 where every evaluation ran the default 20 steps). */
function resultTable(rows: ReportRow[], pgd: string): string[] {
  const lines = [
    `| defense | attack | ε | clean | robust | FGSM | ${pgd} | APGD-CE | APGD-T | Square | train s | flags raised | run · evaluation |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const a = r.byAttack ?? {};
    lines.push(
      tableRow([
        r.defense,
        r.attack,
        r.epsilon,
        pct(r.clean),
        `**${pct(r.robust)}**`,
        pct(a.fgsm),
        pct(a.pgd),
        pct(a['apgd-ce']),
        pct(a['apgd-t']),
        pct(a.square),
        r.trainSeconds,
        r.flags.join(', ') || '–',
        runAndEvaluation(r),
      ]),
    );
  }
  return lines;
}

function detectorTable(rows: ReportRow[]): string[] {
  const lines = [
    '| detector | attack | ε | detection rate at 5% FPR | ROC AUC | stack clean (correct and accepted) | stack robust |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      tableRow([
        r.defense,
        r.attack,
        r.epsilon,
        pct(r.detectionRate),
        r.rocAuc === null || r.rocAuc === undefined ? '–' : r.rocAuc.toFixed(3),
        pct(r.clean),
        `**${pct(r.robust)}**`,
      ]),
    );
  }
  return lines;
}

/** Per defense trained at several seeds: a row per seed and their mean (± the sample standard deviation). */
function seedTable(groups: SeedGroup[]): string[] {
  const lines = [
    '| defense | attack | ε | seed | clean | robust | PGD-20 | APGD-CE | APGD-T | Square | train s | run · evaluation |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const g of groups) {
    for (const r of g.rows) {
      const a = r.byAttack ?? {};
      lines.push(
        tableRow([
          r.defense,
          r.attack,
          r.epsilon,
          r.seed,
          pct(r.clean),
          pct(r.robust),
          pct(a.pgd),
          pct(a['apgd-ce']),
          pct(a['apgd-t']),
          pct(a.square),
          r.trainSeconds,
          runAndEvaluation(r),
        ]),
      );
    }
    const robust = `**${pct(g.robust)}** ± ${(100 * g.robustSd).toFixed(1)}`;
    lines.push(`| ${g.defense} | ${g.attack} | ${g.epsilon} | **mean** | ${pct(g.clean)} | ${robust} | | | | | ${g.trainSeconds} | |`);
  }
  return lines;
}

const FLAGS_NOTE =
  "- **flags raised**: the evaluation's validity checks (Carlini et al. 2019) that fired on the row's view; a per-ε one names how " +
  "many examples raised it. One is the report's own: `evaluated-another-checkpoint` when the evaluation attacked a checkpoint (its " +
  "SHA-256 is in the JSON as checkpointSha256) other than the one the row's training run ended on, as a store entry re-trained or " +
  'resumed to evaluate it again must reproduce.';

/** The built-in plan's opening: its datasets, its machine, its recipes, and issue 5's targets. */
function builtInIntro(context: ReportContext): string[] {
  return [
    `Generated by \`npm run report:robustness\` at ${context.generatedAt} from the runs and evaluations stored in Postgres (read through the API), ` +
      "this invocation's or, where the plan entry is unchanged, an earlier one's as [robustness-store.json](robustness-store.json) recorded them. " +
      'Do not edit: run the command again. [robustness.json](robustness.json) holds the same rows.',
    '',
    '- Every accuracy is measured on the same seeded subset of the test split for every defense of a dataset (n in each row; seed in ' +
      "the JSON): Fashion-MNIST's official 10,000-image test split; for MNIST, the 2,000 digits the run holds out (seeded, 20%).",
    '- **robust** is per example: correct on the clean input and on the worst input any attack of the row found. `standard` is the ' +
      'suite of the evaluation API: FGSM, PGD-20, APGD-CE (100 steps), APGD-T (100 steps, 3 targets) and Square (1,000 queries), each ' +
      'adversarial example re-verified.',
    "- **train s** is the CPU time of the run's epochs (training, the overfitting guard where on, and the per-epoch FGSM check on the " +
      "test split; one thread), measured by the worker's child process: two jobs and their evaluations shared this machine's two cores, " +
      'so wall time (in the JSON as trainWallSeconds) says as much about the neighbours as about the method. CPU time is steadier but not ' +
      "free of the machine's load either: the same epoch can cost markedly more CPU seconds in a busier sitting, and a run resumed from " +
      'the store adds up epochs measured in different sittings, so compare the times of runs trained side by side. For a distilled or ' +
      "fine-tuned model it includes the teacher's or base model's.",
    FLAGS_NOTE,
    '- The adversarial-training recipes (epochs, learning rate, clean/adversarial mix) were chosen with ' +
      '[tools/recipe-sweep](../tools/recipe-sweep/README.md), a PyTorch replica of this training on a GPU whose PGD judge read within ' +
      'about half a point of this suite; none of its figures appear here. A replica is a guide, not a measurement: one change it ' +
      'preferred for fgsm-rs (a higher rate with an ε warm-up) read 1.2 and 3.6 points lower in two runs of this project and was not ' +
      'kept; the warm-up alone at the old rate, which the replica also credited, is the fgsm-rs recipe used here (+0.9 points over three ' +
      'seeds; its README has the figures).',
    `- Backend: ${context.backend}.`,
    '',
    '## Targets (issue 5)',
    '',
    '| target | met | measured |',
    '|---|---|---|',
    ...(context.targets ?? []).map((t) => `| ${t.target} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} | ${t.detail} |`),
    '',
  ];
}

/** A user's plan's opening: true of any dataset, machine and plan (what differs per row is in its section and the JSON). */
function userPlanIntro(context: ReportContext, userPlan: UserPlanContext): string[] {
  return [
    `Generated by \`${planCommand(userPlan)}\` at ${context.generatedAt} from the runs and evaluations stored in Postgres (read through the API), ` +
      `this invocation's or, where the plan entry is unchanged, an earlier one's as [${basename(userPlan.storeLink)}](${userPlan.storeLink}) recorded them. ` +
      'Do not edit: run the command again. [robustness.json](robustness.json) holds the same rows.',
    '',
    "- Every accuracy is measured on a seeded subset of the dataset's test split: how many examples (n) and which seed drew them is " +
      'under each heading and in every row of the JSON (n, evaluationSeed). Rows of one dataset with the same n and seed were measured on the same examples.',
    '- **robust** is per example: correct on the clean input and on the worst input any attack of the row found. `standard` is the ' +
      'suite of the evaluation API: FGSM, PGD, APGD-CE, APGD-T and Square, each adversarial example re-verified; their steps, targets and ' +
      "queries are the API's defaults (PGD 20 steps, APGD 100 steps, 3 targets, Square 1,000 queries) unless the evaluation's options below change them.",
    "- **train s** is the CPU time of the run's epochs (training, the overfitting guard where on, and the per-epoch FGSM check on the " +
      "test split), measured by the worker's child process; wall time is in the JSON as trainWallSeconds. Both depend on what else the " +
      "machine ran. For a distilled or fine-tuned model it includes the teacher's or base model's.",
    FLAGS_NOTE,
    `- Backend: ${context.backend}.`,
    '',
  ];
}

const planCommand = ({ planFile, out }: UserPlanContext) => `npm run report:robustness -- --plan ${planFile} --out ${out}`;

/** "Every row: n = 50 test examples, evaluation seed 0." (or each combination, where rows differ). */
function sampleLine(rows: ReportRow[]): string {
  const samples = [...new Set(rows.map((r) => `n = ${r.n} test examples, evaluation seed ${r.evaluationSeed}`))];
  return samples.length === 1 ? `Every row: ${samples[0]}.` : `Rows measured on ${samples.join('; ')} (each row's in the JSON).`;
}

/** docs/robustness.md (or a user's plan's robustness.md): generated, never edited by hand. */
export function reportMarkdown(context: ReportContext): string {
  const { rows, trainings, userPlan } = context;
  // A user's plan may lighten PGD (extra.params); the built-in plan runs the default 20 steps.
  const pgd = userPlan ? 'PGD' : 'PGD-20';
  const out: string[] = ['# Robustness report', '', ...(userPlan ? userPlanIntro(context, userPlan) : builtInIntro(context))];
  for (const { ref: dataset, title, details } of context.datasets) {
    const tableRows = rows.filter((r) => r.dataset === dataset && !r.curveOnly);
    const results = tableRows.filter((r) => !r.defense.endsWith('-detector') && r.replicaOf === undefined);
    const detectors = tableRows.filter((r) => r.defense.endsWith('-detector'));
    const seeded = poolSeeds(tableRows).filter((g) => g.rows.length > 1);
    if (!tableRows.length) continue;
    out.push(`## ${title}`, '');
    if (userPlan) out.push(...(details ? [details, ''] : []), sampleLine(tableRows), '');
    out.push(...resultTable(results, pgd), '');
    if (seeded.length) {
      const defenses = [...new Set(seeded.map((g) => g.defense))].join(' and ');
      const seeds = [...new Set(seeded.flatMap((g) => g.seeds.filter((x) => x !== 0)))].join(' and ');
      out.push(
        '### Seeds',
        '',
        `The table above holds each defense's run at the plan's seed (0). ${defenses} were also trained at seeds ${seeds}, everything else unchanged, ` +
          'and evaluated on the same examples with the same attack seed, so the seeds differ by the trained model alone. ' +
          "The targets use the means: a single run per method moves a robust figure by about as much as the fgsm-rs target's margin.",
        '',
        ...seedTable(seeded),
        '',
      );
    }
    if (detectors.length) {
      out.push(
        '### Detectors in front of the undefended model',
        '',
        'Thresholds set for 5% false positives on clean validation examples from the training split. Detection rate: of the adversarial ' +
          'inputs that fool the classifier, the fraction rejected. The stack answers "rejected as adversarial" for a rejected input; it is ' +
          'robust on an example when the clean input is accepted and classified correctly and no attack produced an accepted misclassified ' +
          "input. ROC AUC ranks the fooling inputs' scores against the clean ones' over every threshold; an attack that knows the detector " +
          'keeps its inputs just under the 5% threshold, so its AUC can stay high while its detection rate at that threshold falls to ' +
          'nothing.',
        '',
        ...detectorTable(detectors),
        '',
      );
    }
    const figure = context.figures.find((f) => f.dataset === dataset);
    if (figure)
      out.push(
        `![Accuracy against ε on ${title}](${figure.file})`,
        '',
        figureCaption(
          rows.filter((r) => r.dataset === dataset),
          pgd,
        ),
        '',
      );
  }
  if (context.evaluationOptions.length) {
    out.push(
      '## Evaluation options',
      '',
      'Beyond the standard suite on the seeded subset, as submitted to `POST /evaluations`:',
      '',
      ...context.evaluationOptions.map(({ id, options }) => `- \`${id}\`: \`${JSON.stringify(options)}\``),
      '',
    );
  }
  out.push('## Attack names', '', ...attackNotes(rows, userPlan).map(([name, note]) => `- \`${name}\`: ${note}.`), '');
  out.push(
    '## Runs',
    '',
    '| run | spec | train s (CPU) | wall s |',
    '|---|---|---|---|',
    ...trainings
      .filter((t) => t.run.status === 'succeeded')
      .map((t) => `| \`${t.run.id.slice(0, 8)}\` | ${describeTraining(t)} | ${trainSecondsOf(t)} | ${trainWallSecondsOf(t)} |`),
    '',
  );
  if (context.pending.length) out.push('## Not measured (yet)', '', ...context.pending.map((p) => `- ${p}`), '');
  out.push('## Reproduce', '', ...(userPlan ? userPlanReproduce(userPlan) : BUILT_IN_REPRODUCE), '');
  out.push('Runs are resumable jobs: interrupting the command loses at most the current epoch.', '');
  return out.join('\n');
}

const BUILT_IN_REPRODUCE = [
  '```',
  'npm run report:robustness                                  # submits what is missing (scripts/robustness/plan.ts), waits, rewrites these files',
  'npm run report:robustness -- --only eval-fashion-pgd-at    # one evaluation and the runs it needs; prints its rows',
  '```',
];

function userPlanReproduce(userPlan: UserPlanContext): string[] {
  const command = planCommand(userPlan);
  const [firstEvaluation] = userPlan.evaluationIds;
  return [
    '```',
    `${command}   # submits what is missing, waits, rewrites these files`,
    ...(firstEvaluation ? [`${command} --only ${firstEvaluation}   # one evaluation and the runs it needs; prints its rows`] : []),
    '```',
    '',
    'With `BULWARK_API` and `BULWARK_API_KEY` set it talks to that cluster; an uploaded dataset is found only with a key of the tenant that uploaded it.',
  ];
}

/**
 * Every attack name for the built-in plan; for a user's, the names its rows use, the standard
 * suite's without the default settings an evaluation's options may have changed.
 */
function attackNotes(rows: ReportRow[], userPlan: UserPlanContext | undefined): Array<[string, string]> {
  if (!userPlan) return Object.entries(ATTACK_NOTES);
  const used = new Set(rows.map((r) => r.attack));
  return Object.entries(ATTACK_NOTES)
    .filter(([name]) => used.has(name))
    .map(([name, note]): [string, string] =>
      name === 'standard' ? [name, 'the standard suite on the model itself: per example, the worst of FGSM, PGD, APGD-CE, APGD-T and Square'] : [name, note],
    );
}

/** Says on how many examples the figure's points were measured (the curve-only ε use fewer than the table). */
function figureCaption(rows: ReportRow[], pgd: string): string {
  const sizes = (curveOnly: boolean) => [...new Set(rows.filter((r) => !!r.curveOnly === curveOnly).map((r) => r.n))].sort((a, b) => a - b).join(' / ');
  const table = sizes(false);
  const extra = sizes(true);
  const epsilons = [...new Set(rows.filter((r) => r.curveOnly).map((r) => r.epsilon))].sort((a, b) => a - b).join(', ');
  return extra === '' || extra === table
    ? `Every point: the same seeded n = ${table} test examples. Naive views dashed, as ${pgd} alone sees them.`
    : `The table's ε: n = ${table} seeded test examples; the extra points (ε = ${epsilons}): the first n = ${extra} of the same seeded draw. ` +
        `Naive views dashed, as ${pgd} alone sees them.`;
}
