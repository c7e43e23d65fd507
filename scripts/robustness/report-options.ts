import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Slots } from './report-schedule';

export const USAGE = `Usage: node dist/scripts/robustness/report.js [options]   (npm run report:robustness -- [options])

Makes sure every run and evaluation of scripts/robustness/plan.ts (or of --plan's file) exists
(submitting what is missing over the API), waits for them and writes robustness.{json,md} and the
curve figures. Entries whose fingerprint matches the store are taken from it instead of being
measured again.

Options:
  --api URL                  the Bulwark API (default: $BULWARK_API, else http://127.0.0.1:3000)
  --plan FILE                a plan of your own instead of the built-in one: JSON
                             { "trainings": [...], "evaluations": [...] } (docs/examples/robustness-plan.json);
                             needs --out
  --out DIR                  where the report is written (default: docs, the built-in plan's)
  --store FILE               the report store (default: <out>/robustness-store.json)
  --only ID[,ID]             just these evaluations and the runs they need, measured anew;
                             prints their rows and writes nothing
  --no-wait                  submit what can be submitted, then report what has finished
  --fresh                    ignore the store: measure every entry again
  --training-slots N         training jobs kept queued or running at once (default 2)
  --evaluation-slots N       evaluation jobs kept queued or running at once (default 2)
  --hold ID[,ID]             plan entries (and what builds on them) not to submit this time;
                             reported as held
  --retry-failed N           submit an entry whose run failed or was cancelled again, up to N
                             times (default: report it as blocked)
  -h, --help                 this text

--only and --hold take comma-separated ids and may be repeated. Every call sends the API key in
$BULWARK_API_KEY (report.sh creates one of tenant "default" when it starts the cluster itself).`;

/** What one invocation is asked to do. */
export interface ReportOptions {
  api: string;
  /** --plan's file: a user's plan instead of plan.ts; undefined: the built-in plan. */
  planFile?: string;
  out: string;
  storePath: string;
  /** --only's evaluation ids; undefined: the whole plan. */
  only?: string[];
  wait: boolean;
  fresh: boolean;
  slots: Slots;
  hold: string[];
  /** Attempts at an entry whose stored run failed or was cancelled (0: report it as blocked). */
  retryFailed: number;
}

export type ParsedCommand = { kind: 'help' } | { kind: 'report'; options: ReportOptions };

/** A command line the report cannot run; the message names the flag. */
export class UsageError extends Error {}

function positiveInteger(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${flag} must be a positive integer, got '${text}'`);
  return value;
}

/** Comma-separated ids over every occurrence of a flag; undefined when it was not given. */
function idList(flag: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const ids = values.flatMap((value) => value.split(',')).filter(Boolean);
  if (!ids.length) throw new UsageError(`--${flag} needs at least one plan id`);
  return ids;
}

const FLAGS = {
  api: { type: 'string' },
  plan: { type: 'string' },
  out: { type: 'string' },
  store: { type: 'string' },
  only: { type: 'string', multiple: true },
  'no-wait': { type: 'boolean' },
  fresh: { type: 'boolean' },
  'training-slots': { type: 'string' },
  'evaluation-slots': { type: 'string' },
  hold: { type: 'string', multiple: true },
  'retry-failed': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function flagValues(args: string[]) {
  try {
    return parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs names the flag: "Unknown option '--foo'", "Option '--api <value>' argument missing".
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The command line (without node and the script) as options; throws a UsageError naming a bad flag. */
export function parseReportArgs(args: string[], env: Record<string, string | undefined>): ParsedCommand {
  const values = flagValues(args);
  if (values.help) return { kind: 'help' };
  // docs/ holds the built-in plan's report and store: a plan of one's own must not overwrite them.
  if (values.plan !== undefined && values.out === undefined) throw new UsageError('--plan needs --out DIR (the report of your own plan never goes to docs/)');
  const out = values.out ?? 'docs';
  return {
    kind: 'report',
    options: {
      api: values.api ?? env.BULWARK_API ?? 'http://127.0.0.1:3000',
      ...(values.plan !== undefined && { planFile: values.plan }),
      out,
      storePath: values.store ?? join(out, 'robustness-store.json'),
      only: idList('only', values.only),
      wait: !values['no-wait'],
      fresh: values.fresh ?? false,
      slots: {
        training: positiveInteger('training-slots', values['training-slots'], 2),
        evaluation: positiveInteger('evaluation-slots', values['evaluation-slots'], 2),
      },
      hold: idList('hold', values.hold) ?? [],
      retryFailed: positiveInteger('retry-failed', values['retry-failed'], 0),
    },
  };
}
