/**
 * `npm run report:robustness` (report.sh runs it with --api): makes sure every run and evaluation
 * of the plan (plan.ts, or a user's --plan file) exists, waits for them and writes
 * robustness.{json,md} and the curve figures from what is stored, into docs/ or --out. `--help`
 * lists the options (report-options.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { apiClient } from '../lib/api-client';
import { EVALUATIONS, TRAININGS } from './plan';
import { loadPlanFile, PlanFileError } from './plan-file';
import { planFingerprints } from './plan-fingerprint';
import { describeDatasets, planDatasets } from './report-datasets';
import { fetchStored, inProgressTrainings } from './report-fetch';
import { ParsedCommand, parseReportArgs, ReportOptions, USAGE, UsageError } from './report-options';
import type { UserPlanContext } from './report-markdown';
import { renderReport } from './report-render';
import { buildRows } from './report-rows';
import { checkHeld, heldBackBy, pendingEntries, PlanEntries, selectEntries, trainingsFor } from './report-schedule';
import type { ReportSession } from './report-session';
import { carriedFromStore, emptyStore, mergeStored, readStore, storeOf, untouchedInProgress, writeInProgress, writeStore } from './report-store';
import { ensureRuns } from './report-submission';

/** How often a waiting invocation asks the API about the jobs it follows. */
const POLL_MS = 15_000;

async function report(options: ReportOptions, plan: PlanEntries): Promise<void> {
  checkHeld(plan, options.hold);
  const requested = selectEntries(plan, options.only);
  const api = apiClient(options.api);
  // A user's plan: its uploads are looked up before anything is submitted (one the caller cannot see fails here).
  const location = options.planFile === undefined ? undefined : { planFile: options.planFile, out: options.out };
  const userPlan: UserPlanContext | undefined = location && {
    ...location,
    storeLink: relative(options.out, options.storePath),
    datasets: await describeDatasets(api, planDatasets(plan)),
    evaluationIds: plan.evaluations.map((e) => e.id),
  };
  const session: ReportSession = {
    api,
    apiBase: options.api,
    plan,
    fingerprints: planFingerprints(plan.trainings, plan.evaluations),
    // --only repeats a measurement: nothing is taken from the store.
    store: options.only || options.fresh ? emptyStore() : await readStore(options.storePath),
    storePath: options.storePath,
    log: (line) => console.log(line),
  };
  const carried = carriedFromStore(session.store, requested.trainings, requested.evaluations, session.fingerprints);
  const inStore = new Set(carried.evaluations.map((e) => e.plan.id));
  const evaluations = requested.evaluations.filter((e) => !inStore.has(e.id));
  const entries: PlanEntries = { trainings: trainingsFor(plan, evaluations), evaluations };
  if (inStore.size)
    session.log(
      `${inStore.size} of ${requested.evaluations.length} evaluations are in ${options.storePath} as planned; measuring the other ${evaluations.length}`,
    );

  const heldBack = heldBackBy(plan, entries, new Set(options.hold));
  const { runs, refused } = await ensureRuns(session, entries, {
    wait: options.wait,
    slots: options.slots,
    retryFailed: options.retryFailed,
    heldBack,
    pollMs: POLL_MS,
  });
  const stored = mergeStored(plan, carried, await fetchStored(session, entries, runs));
  const rows = buildRows(stored.trainings, stored.evaluations, location);
  if (options.only) {
    session.log(JSON.stringify(rows, null, 2));
    return;
  }

  const pending = pendingEntries(plan, entries, { runs, refused, heldBack });
  const files = renderReport({
    generatedAt: new Date().toISOString(),
    rows,
    trainings: stored.trainings,
    evaluations: stored.evaluations,
    pending,
    ...(userPlan && { userPlan }),
  });
  await mkdir(options.out, { recursive: true });
  for (const file of files) await writeFile(join(options.out, file.name), file.content);
  const inProgress = [
    ...(await inProgressTrainings(session, entries, runs)),
    ...(await untouchedInProgress(
      session.store,
      options.storePath,
      entries.trainings.map((t) => t.id),
      new Set(runs.keys()),
      session.fingerprints,
    )),
  ];
  await writeInProgress(options.storePath, inProgress);
  await writeStore(
    options.storePath,
    storeOf(
      stored.trainings,
      stored.evaluations,
      session.fingerprints,
      inProgress.map(({ record }) => record),
    ),
  );
  session.log(
    `wrote ${rows.length} rows to ${join(options.out, 'robustness.json')} and ${join(options.out, 'robustness.md')}` +
      (pending.length ? `; not measured yet: ${pending.length}` : ''),
  );
}

async function main(args: string[]): Promise<number> {
  let command: ParsedCommand;
  try {
    command = parseReportArgs(args, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`report:robustness: ${error.message} (--help lists the options)`);
    return 2;
  }
  if (command.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  let plan: PlanEntries = { trainings: TRAININGS, evaluations: EVALUATIONS };
  if (command.options.planFile !== undefined) {
    try {
      plan = await loadPlanFile(command.options.planFile);
    } catch (error) {
      if (!(error instanceof PlanFileError)) throw error;
      console.error(`report:robustness: ${error.message}`);
      return 2;
    }
  }
  await report(command.options, plan);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
