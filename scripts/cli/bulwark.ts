#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { apiClient, type ApiCall } from '../lib/api-client';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, ParsedCommand, UsageError, parseCommandLine, usage } from './cli-options';
import { CurvePoint, formatCurve, formatTable } from './cli-table';
import { RunState, followRun } from './follow-run';

/**
 * `npx bulwark` (package.json "bin", built to dist/scripts/cli/bulwark.js): submit, follow, list,
 * cancel and export runs, and print a curve, through the API with a key of the caller's tenant.
 */

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (the progress bar redraws in place there). */
  tty: boolean;
}

interface ListedRun extends RunState {
  spec: { dataset?: string; model?: string; name?: string };
  createdAt: string;
}

interface CheckpointInfo {
  id: string;
  epoch: number;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let parsed: ParsedCommand;
  try {
    const result = parseCommandLine(argv, env);
    if ('help' in result) {
      io.out(`${result.help}\n`);
      return EXIT_OK;
    }
    parsed = result;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const name = argv.length ? argv[0] : '';
    const help = Object.hasOwn(COMMAND_HANDLERS, name) ? `run \`bulwark ${name} --help\` for its flags` : usage();
    io.err(`bulwark: ${err.message}\n${help}\n`);
    return EXIT_USAGE;
  }
  try {
    return await COMMAND_HANDLERS[parsed.command](parsed, apiClient(parsed.connection.apiUrl, parsed.connection.apiKey), io);
  } catch (err) {
    io.err(`bulwark ${parsed.command}: ${explain(err)}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILED;
  }
}

const COMMAND_HANDLERS: Record<ParsedCommand['command'], (cmd: ParsedCommand, api: ApiCall, io: Io) => Promise<number>> = {
  run: (cmd, api, io) => submit('/runs', cmd, api, io),
  evaluate: (cmd, api, io) => submit('/evaluations', cmd, api, io),

  async follow(cmd, _api, io) {
    return outcome(await followRun({ connection: cmd.connection, runId: cmd.positionals[0], write: io.err, tty: io.tty }), io);
  },

  async list(cmd, api, io) {
    const query = new URLSearchParams();
    for (const flag of ['status', 'kind', 'limit'] as const) {
      const value = cmd.flags[flag];
      if (value !== undefined) query.set(flag, String(value));
    }
    const page = await api<{ items: ListedRun[]; total: number }>('GET', `/runs${query.size ? `?${query.toString()}` : ''}`);
    const rows = page.items.map((r) => [
      r.id,
      r.kind,
      r.status,
      `${Math.floor(r.progress * 100)}%`,
      r.spec.dataset ?? '',
      r.spec.model ?? '',
      r.spec.name ?? '',
      new Date(r.createdAt).toISOString().replace(/\.\d+Z$/, 'Z'),
    ]);
    io.out(`${formatTable(['id', 'kind', 'status', 'progress', 'dataset', 'model', 'name', 'created'], rows, [false, false, false, true])}\n`);
    io.out(`${page.items.length} of ${page.total}\n`);
    return EXIT_OK;
  },

  async cancel(cmd, api, io) {
    const run = await api<RunState & { cancelRequestedAt: string | null }>('POST', `/runs/${encodeURIComponent(cmd.positionals[0])}/cancel`);
    io.out(run.status === 'cancelled' ? `${run.id} cancelled\n` : `${run.id} ${run.status}: cancel requested, it stops at its next batch\n`);
    return EXIT_OK;
  },

  async export(cmd, api, io) {
    const runId = cmd.positionals[0];
    const { items } = await api<{ items: CheckpointInfo[] }>('GET', `/runs/${encodeURIComponent(runId)}/checkpoints`);
    const checkpoint = pickCheckpoint(items, cmd.flags.epoch as number | undefined, cmd.flags.checkpoint as string | undefined, runId);
    const path = `/runs/${encodeURIComponent(runId)}/checkpoints/${checkpoint.id}/model.tar.gz`;
    const res = await fetch(`${cmd.connection.apiUrl}${path}`, { headers: { Authorization: `Bearer ${cmd.connection.apiKey}` } });
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
    const out = (cmd.flags.out as string | undefined) ?? `run-${runId}-epoch-${checkpoint.epoch}.tar.gz`;
    const bytes = Buffer.from(await res.arrayBuffer());
    await writeFile(out, bytes);
    io.out(`${out}: model.json + weights.bin of run ${runId}, epoch ${checkpoint.epoch} (${bytes.length} bytes)\n`);
    io.out(
      `load it: tar xzf ${out} && tf.loadLayersModel('file://.../model.json'), or by URL: ${cmd.connection.apiUrl}${path.replace(/model\.tar\.gz$/, 'model.json')}\n`,
    );
    return EXIT_OK;
  },

  async curve(cmd, api, io) {
    const view = (cmd.flags.view as string | undefined) ?? 'direct';
    if (view !== 'direct' && view !== 'adaptive') throw new UsageError(`--view must be direct or adaptive, got "${view}"`);
    const evaluation = await api<{ run: RunState; curve: CurvePoint[]; adaptiveCurve: CurvePoint[] | null }>(
      'GET',
      `/evaluations/${encodeURIComponent(cmd.positionals[0])}`,
    );
    const points = view === 'adaptive' ? evaluation.adaptiveCurve : evaluation.curve;
    if (points === null) throw new Error(`evaluation ${evaluation.run.id} has no adaptive curve: it evaluated no defense`);
    if (points.length === 0) {
      io.err(`evaluation ${evaluation.run.id} is ${evaluation.run.status}: no curve point stored yet\n`);
      return evaluation.run.status === 'failed' || evaluation.run.status === 'cancelled' ? EXIT_FAILED : EXIT_OK;
    }
    io.out(`${formatCurve(points)}\n`);
    return EXIT_OK;
  },
};

async function submit(path: '/runs' | '/evaluations', cmd: ParsedCommand, api: ApiCall, io: Io): Promise<number> {
  const key = cmd.flags['idempotency-key'] as string | undefined;
  const run = await api<RunState>('POST', path, cmd.body, key === undefined ? {} : { 'Idempotency-Key': key });
  io.out(`${run.id}\n`);
  io.err(`${run.kind} ${run.id} ${run.status}\n`);
  if (!cmd.flags.follow) return EXIT_OK;
  return outcome(await followRun({ connection: cmd.connection, runId: run.id, write: io.err, tty: io.tty }), io);
}

function outcome(run: RunState, io: Io): number {
  io.err(`${run.kind} ${run.id} ${run.status}\n`);
  return run.status === 'succeeded' ? EXIT_OK : EXIT_FAILED;
}

function pickCheckpoint(items: CheckpointInfo[], epoch: number | undefined, id: string | undefined, runId: string): CheckpointInfo {
  if (epoch !== undefined && id !== undefined) throw new UsageError('give --epoch or --checkpoint, not both');
  const found = id !== undefined ? items.find((c) => c.id === id) : epoch !== undefined ? items.find((c) => c.epoch === epoch) : items[items.length - 1];
  if (found) return found;
  const have = items.length ? `it has epochs ${items.map((c) => c.epoch).join(', ')}` : 'it has none yet';
  const which = id !== undefined ? `checkpoint ${id}` : epoch !== undefined ? `a checkpoint of epoch ${epoch}` : 'a checkpoint';
  throw new Error(`run ${runId} has no ${which}: ${have}`);
}

/** The API's message (the field at fault, for a 400), not a stack. */
function explain(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string } }).cause;
  if (err.message === 'fetch failed' && cause?.code) return `cannot reach the API (${cause.code}); check --api-url or BULWARK_API_URL`;
  return err.message;
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    tty: process.stderr.isTTY,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bulwark: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}
