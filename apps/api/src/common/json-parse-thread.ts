import { Worker } from 'node:worker_threads';
import { nestsDeeperThan, parseJsonBody, prototypeKeyPath, type JsonBodyOutcome } from './json-body';

/**
 * The worker's program: json-body.ts's functions, by their source text, and a loop that parses
 * each body it is sent. Built from the same functions the event loop would run, so both parse alike.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
${nestsDeeperThan.toString()}
${prototypeKeyPath.toString()}
${parseJsonBody.toString()}
parentPort.on('message', ({ id, bytes, maxDepth, prototypeKeys }) => {
  let outcome;
  try {
    outcome = parseJsonBody(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), maxDepth, prototypeKeys);
  } catch (err) {
    outcome = { ok: false, problem: 'syntax', message: String(err && err.message ? err.message : err) };
  }
  parentPort.postMessage({ id, outcome });
});
`;

interface Pending {
  resolve: (outcome: JsonBodyOutcome) => void;
  reject: (err: Error) => void;
}

/**
 * Parses large JSON bodies on one worker thread, one after another. Decoding and parsing tens of
 * MiB takes a large part of a second of CPU that, on the event loop, every other request (health
 * checks included) would wait behind. The thread is started on first use and does not keep the
 * process alive; if it dies, the bodies it held fail and the next one starts a new thread.
 */
export class JsonParseThread {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  parse(bytes: Uint8Array, maxDepth: number, prototypeKeys: readonly string[]): Promise<JsonBodyOutcome> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      // A body of its own buffer moves to the thread instead of being copied there.
      const movable = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      worker.postMessage({ id, bytes, maxDepth, prototypeKeys: [...prototypeKeys] }, movable ? [bytes.buffer] : []);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', ({ id, outcome }: { id: number; outcome: JsonBodyOutcome }) => {
      this.pending.get(id)?.resolve(outcome);
      this.pending.delete(id);
      // Idle: the thread must not be why the API cannot exit.
      if (this.pending.size === 0) worker.unref();
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the JSON parsing thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
