import { isBackendName, selectBackend } from '@bulwark/tfjs-runtime';
import type { BackendProbeMessage } from './backend-probe';

/**
 * Forked by probeBackend: selects the backend exactly as a job's child process will (same
 * BULWARK_BACKEND, same machine), reports it to the parent over IPC and exits, releasing
 * whatever the backend held (a CUDA context, a Dawn device).
 */
async function main(): Promise<void> {
  const forced = process.argv.at(2);
  if (forced !== undefined && !isBackendName(forced)) throw new Error(`not a backend: ${forced}`);
  const send = (message: BackendProbeMessage) => new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  const backend = await selectBackend({ forced, log: (line) => void send({ log: line }) });
  await send({ backend });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await new Promise<void>((resolve) => process.send?.({ error: err instanceof Error ? err.message : String(err) }, () => resolve()));
    process.exit(1);
  },
);
