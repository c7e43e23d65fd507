import { ProgressBar, sseMessages } from './follow-run';

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
