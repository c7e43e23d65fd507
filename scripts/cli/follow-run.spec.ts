import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProgressBar, followRun, sseMessages } from './follow-run';

function streamOf(chunks: string[]): Response {
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
        controller.close();
      },
    }),
  );
}

describe('following a run', () => {
  it('reads Server-Sent Events split anywhere across chunks, skipping comments and keeping ids', async () => {
    const res = streamOf([
      ': connected\n\nretry: 1000\n\nid: 1-0\nevent: progress\nda',
      'ta: {"type":"progress","progress":0.5}\n',
      '\nid: 2-0\r\ndata: a\r\ndata: b\r\n\r\n',
      'data: no end',
    ]);
    const messages = [];
    for await (const message of sseMessages(res)) messages.push(message);
    expect(messages).toEqual([
      { id: '1-0', data: '{"type":"progress","progress":0.5}' },
      { id: '2-0', data: 'a\nb' },
    ]);
  });

  it('prints a line per whole percent or status in a log, and redraws in place on a terminal', () => {
    const log: string[] = [];
    const bar = new ProgressBar((text) => log.push(text), false);
    bar.update({ status: 'queued', progress: 0 });
    bar.event({ type: 'status', status: 'running' });
    bar.event({ type: 'progress', progress: 0.504 });
    bar.event({ type: 'progress', progress: 0.506 });
    bar.event({ type: 'metric', key: 'epoch_seconds', step: 1, value: 3 });
    bar.end({ id: 'r', kind: 'train', status: 'failed', progress: 0.506, error: 'out of memory' });
    expect(log).toEqual([
      '[..............................]   0%  queued\n',
      '[..............................]   0%  running\n',
      '[###############...............]  50%  running\n',
      '[###############...............]  50%  failed\n',
      'failed: out of memory\n',
    ]);

    const screen: string[] = [];
    const live = new ProgressBar((text) => screen.push(text), true);
    live.update({ status: 'running', progress: 1 });
    live.event({ type: 'metric', key: 'test_clean_accuracy', step: 2, value: 0.91234 });
    expect(screen).toEqual([
      '\r\u001b[2K[##############################] 100%  running',
      '\r\u001b[2K[##############################] 100%  running  epoch 2 test_clean_accuracy 0.912',
    ]);
  });
});

describe('followRun against an API', () => {
  let server: Server;
  let base: string;
  let run: { id: string; kind: string; status: string; progress: number; error: string | null };
  let eventsRoute: boolean;
  const eventRequests: (string | undefined)[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.headers.authorization !== 'Bearer k') {
        res.writeHead(401).end('{}');
      } else if (req.url === '/runs/r1') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(run));
      } else if (req.url === '/runs/r1/events' && eventsRoute) {
        eventRequests.push(req.headers['last-event-id'] as string | undefined);
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (eventRequests.length === 1) {
          // The first connection drops after one event; the client resumes after it.
          res.end('id: 1-0\nevent: progress\ndata: {"type":"progress","progress":0.5}\n\n');
        } else {
          res.flushHeaders();
          // After the client has read the run once the stream is open; the stream is left open, as a
          // live one is: the status event must end the following.
          setTimeout(() => {
            run = { ...run, status: 'succeeded', progress: 1 };
            res.write('id: 2-0\nevent: status\ndata: {"type":"status","status":"succeeded","error":null}\n\n');
          }, 50);
        }
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Cannot GET"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    run = { id: 'r1', kind: 'train', status: 'running', progress: 0.1, error: null };
    eventRequests.length = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('follows the events, resuming with Last-Event-ID after a drop, and ends on the terminal status', async () => {
    eventsRoute = true;
    const log: string[] = [];
    const final = await followRun({ connection: { apiUrl: base, apiKey: 'k' }, runId: 'r1', write: (t) => log.push(t), tty: false });
    expect(final.status).toBe('succeeded');
    expect(eventRequests).toEqual([undefined, '1-0']);
    expect(log).toContain('[###############...............]  50%  running\n');
    expect(log[log.length - 1]).toBe('[##############################] 100%  succeeded\n');
  });

  it('polls the run where the API has no events route', async () => {
    eventsRoute = false;
    setTimeout(() => (run = { ...run, status: 'failed', error: 'boom' }), 50);
    const log: string[] = [];
    const final = await followRun({ connection: { apiUrl: base, apiKey: 'k' }, runId: 'r1', write: (t) => log.push(t), tty: false, pollMs: 10 });
    expect(final).toMatchObject({ status: 'failed', error: 'boom' });
    expect(log.slice(-1)).toEqual(['failed: boom\n']);
  });
});
