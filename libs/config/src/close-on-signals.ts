/**
 * Closes the app (Nest runs every OnApplicationShutdown hook) on SIGTERM/SIGINT, then exits 0.
 * Nest's own enableShutdownHooks re-raises the signal after closing, which reads as a crash
 * (exit by signal) to process managers and to `docker compose` logs.
 */
export function closeOnSignals(app: { close(): Promise<void> }, name: string, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
  let closing = false;
  for (const signal of signals) {
    process.once(signal, () => {
      if (closing) return;
      closing = true;
      console.log(`${name}: ${signal} received, shutting down`);
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
