import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { BackendName } from '@bulwark/spec';
import type { BackendInfo } from '@bulwark/tfjs-runtime';

export type BackendProbeMessage = { log: string } | { backend: BackendInfo } | { error: string };

/**
 * The backend this worker's job processes will select, learnt before the worker subscribes to
 * any queue: whether it computes on a GPU decides whether the worker consumes the GPU queues.
 * Selected in a short-lived child, not here: the parent would otherwise hold a CUDA context or a
 * Dawn device for its whole life, beside the children that do the work.
 */
export function probeBackend(forced: BackendName | undefined, log: (line: string) => void): Promise<BackendInfo> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'backend-probe.child.js'), forced === undefined ? [] : [forced], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let outcome: BackendInfo | Error | undefined;
    child.on('message', (message: BackendProbeMessage) => {
      if ('log' in message) log(message.log);
      else if ('backend' in message) outcome = message.backend;
      else outcome = new Error(message.error);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (outcome instanceof Error) reject(outcome);
      else if (outcome !== undefined) resolve(outcome);
      else reject(new Error(`the backend probe exited with ${signal ?? String(code)} before reporting a backend`));
    });
  });
}
