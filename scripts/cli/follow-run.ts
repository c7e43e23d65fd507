import type { Connection } from './cli-options';

/** The fields of a run (GET /runs/:id) that following reads. */
export interface RunState {
  id: string;
  kind: string;
  status: string;
  progress: number;
  error: string | null;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface FollowOptions {
  connection: Connection;
  runId: string;
  /** Where the progress goes: redrawn in place on a terminal, a line per change otherwise. */
  write: (text: string) => void;
  tty: boolean;
  /** Polling period where the API streams no events. */
  pollMs?: number;
}

/** An event of GET /runs/:id/events, as far as the progress bar reads it. */
interface StreamedEvent {
  type: string;
  status?: string;
  progress?: number;
  key?: string;
  step?: number;
  value?: number;
  done?: number;
  total?: number;
}

/**
 * Follows a run to its end and returns its final state. Progress comes from the run's
 * Server-Sent Events (GET /runs/:id/events), resumed with Last-Event-ID when the stream drops;
 * an API without that route is polled instead. Postgres is the truth: the run is read over REST
 * once the stream is open (nothing before it is missed) and again when an event says it ended.
 */
export async function followRun({ connection, runId, write, tty, pollMs = 1000 }: FollowOptions): Promise<RunState> {
  const bar = new ProgressBar(write, tty);
  let run = await getRun(connection, runId);
  bar.update(run);
  if (TERMINAL.has(run.status)) return bar.end(run);

  let lastEventId: string | undefined;
  for (;;) {
    const stream = await openEvents(connection, runId, lastEventId);
    if (stream === undefined) return bar.end(await poll(connection, runId, bar, pollMs));
    run = await getRun(connection, runId);
    bar.update(run);
    if (TERMINAL.has(run.status)) {
      await stream.body?.cancel();
      return bar.end(run);
    }
    for await (const { id, data } of sseMessages(stream)) {
      if (id !== undefined) lastEventId = id;
      const event = parseEvent(data);
      if (event === undefined) continue;
      // Leaving the loop returns the generator, which cancels the stream it reads.
      if (event.type === 'status' && event.status !== undefined && TERMINAL.has(event.status)) return bar.end(await getRun(connection, runId));
      bar.event(event);
    }
    // The stream ended (an API restart, a proxy's timeout): reconnect after the last event seen.
  }
}

async function poll(connection: Connection, runId: string, bar: ProgressBar, pollMs: number): Promise<RunState> {
  for (;;) {
    const run = await getRun(connection, runId);
    bar.update(run);
    if (TERMINAL.has(run.status)) return run;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export async function getRun(connection: Connection, runId: string): Promise<RunState> {
  const res = await fetch(`${connection.apiUrl}/runs/${encodeURIComponent(runId)}`, { headers: { Authorization: `Bearer ${connection.apiKey}` } });
  const body = (await res.json()) as RunState & { message?: unknown };
  if (!res.ok) throw new Error(`GET /runs/${runId}: HTTP ${res.status} ${JSON.stringify(body.message ?? body)}`);
  return body;
}

/** The open event stream, or undefined where the API has no events route (it answers 404 for the route, not the run: the run was just read). */
async function openEvents(connection: Connection, runId: string, lastEventId: string | undefined): Promise<Response | undefined> {
  const res = await fetch(`${connection.apiUrl}/runs/${encodeURIComponent(runId)}/events`, {
    headers: {
      Authorization: `Bearer ${connection.apiKey}`,
      Accept: 'text/event-stream',
      ...(lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId }),
    },
  });
  if (res.ok && (res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
  await res.body?.cancel();
  if (res.status === 404 || res.ok) return undefined;
  throw new Error(`GET /runs/${runId}/events: HTTP ${res.status}`);
}

/** Server-Sent Events messages (WHATWG HTML §9.2): `id` and the joined `data` lines of each. */
export async function* sseMessages(res: Response): AsyncGenerator<{ id?: string; data: string }> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let data: string[] = [];
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length) yield { id, data: data.join('\n') };
        [id, data] = [undefined, []];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}

function parseEvent(data: string): StreamedEvent | undefined {
  try {
    const event = JSON.parse(data) as unknown;
    return typeof event === 'object' && event !== null && typeof (event as StreamedEvent).type === 'string' ? (event as StreamedEvent) : undefined;
  } catch {
    return undefined;
  }
}

const BAR_WIDTH = 30;
/** Metrics about the machine, not the model: not what a user follows a run for. */
const HIDDEN_METRICS = /^(epoch_|peak_rss)/;

/**
 * `[#########.....................]  31%  running  epoch 2 test_clean_accuracy 0.912`: redrawn in
 * place on a terminal; elsewhere (a pipe, CI's log) one line whenever the whole percent or the
 * status changes.
 */
export class ProgressBar {
  private status = '';
  private progress = 0;
  private detail = '';
  private shown = '';

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {}

  update(run: Pick<RunState, 'status' | 'progress'>): void {
    this.status = run.status;
    this.progress = run.progress;
    this.draw();
  }

  event(event: StreamedEvent): void {
    if (event.type === 'status' && event.status !== undefined) this.status = event.status;
    else if (event.type === 'progress' && typeof event.progress === 'number') this.progress = event.progress;
    else if (event.type === 'metric' && event.key !== undefined && typeof event.value === 'number' && !HIDDEN_METRICS.test(event.key)) {
      this.detail = `epoch ${String(event.step)} ${event.key} ${round(event.value)}`;
    } else if (event.type === 'shard' && event.done !== undefined && event.total !== undefined) this.detail = `shards ${event.done}/${event.total}`;
    else return;
    this.draw();
  }

  end(run: RunState): RunState {
    this.update(run);
    if (this.tty) this.write('\n');
    if (run.error) this.write(`${run.status}: ${run.error}\n`);
    return run;
  }

  private draw(): void {
    const fraction = Math.min(1, Math.max(0, this.progress));
    const filled = Math.round(fraction * BAR_WIDTH);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}  ${this.status}${this.detail ? `  ${this.detail}` : ''}`;
    if (this.tty) {
      this.write(`\r\u001b[2K${line}`);
    } else {
      // In a log, a line per whole percent or status, not per metric.
      const key = `${percent} ${this.status}`;
      if (key !== this.shown) this.write(`${line}\n`);
      this.shown = key;
    }
  }
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
