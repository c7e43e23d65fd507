/**
 * Closes the app (Nest runs every OnApplicationShutdown hook) on SIGTERM/SIGINT, then exits 0.
 * Nest's own enableShutdownHooks re-raises the signal after closing, which reads as a crash
 * (exit by signal) to process managers and to `docker compose` logs.
 *
 * With `graceMs`, a close that has not finished by then exits 1 anyway: closing a connection to
 * a store that is down can wait on its reconnects, and a process that ignores SIGTERM is
 * killed by its manager without saying why.
 */
export function closeOnSignals(app: { close(): Promise<void> }, name: string, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'], graceMs?: number): void {
  let closing = false;
  for (const signal of signals) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      console.log(`${name}: ${signal} received, shutting down`);
      if (graceMs !== undefined) {
        setTimeout(() => {
          console.error(`${name}: shutdown did not finish within ${graceMs} ms; exiting`);
          process.exit(1);
        }, graceMs).unref();
      }
      app.close().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`${name}: shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
    });
  }
}
