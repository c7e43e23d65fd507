import { readEvents } from './api.js';

const POLL_MS = 2000;
const RETRY_STREAM_MS = 10_000;
const COALESCE_MS = 300;

/**
 * Keeps the open view live: through GET /events (the tenant's runs, as Server-Sent Events) where
 * the API serves it, else by asking the view to refresh every 2 s. A view subscribes with a
 * function of the set of run ids that changed (null: anything may have changed, refresh everything).
 */
export class Live {
  constructor(stateElement) {
    this.listeners = new Set();
    /** Run ids changed since the last flush; null: everything; undefined: nothing yet. */
    this.pending = undefined;
    this.stateElement = stateElement;
    this.lastEventId = undefined;
    this.mode = 'off';
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    if (this.controller) return;
    this.controller = new AbortController();
    this.poll();
    void this.stream(this.controller.signal);
  }

  stop() {
    this.controller?.abort();
    this.controller = undefined;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.setMode('off');
  }

  /**
   * Progress events come many a second: changes are gathered for COALESCE_MS and handed over as
   * one set of run ids (null when anything may have changed), so a view refreshes once per batch.
   */
  notify(runId) {
    if (runId === null) this.pending = null;
    else if (this.pending !== null) (this.pending ??= new Set()).add(runId);
    this.flushTimer ??= setTimeout(() => {
      const changed = this.pending;
      this.pending = undefined;
      this.flushTimer = undefined;
      for (const listener of this.listeners) listener(changed);
    }, COALESCE_MS);
  }

  setMode(mode) {
    this.mode = mode;
    this.stateElement.textContent = { stream: 'live (events)', polling: 'live (polling every 2 s)', off: '' }[mode];
    this.stateElement.dataset.mode = mode;
  }

  poll() {
    if (this.pollTimer) return;
    this.setMode('polling');
    this.pollTimer = setInterval(() => this.notify(null), POLL_MS);
  }

  async stream(signal) {
    while (!signal.aborted) {
      try {
        await readEvents('/events', {
          lastEventId: this.lastEventId,
          signal,
          onOpen: () => {
            clearInterval(this.pollTimer);
            this.pollTimer = undefined;
            this.setMode('stream');
            // Whatever happened while no stream was open.
            this.notify(null);
          },
          onEvent: ({ id, data }) => {
            if (id) this.lastEventId = id;
            let runId = null;
            try {
              const parsed = JSON.parse(data);
              runId = parsed.runId ?? parsed.run?.id ?? null;
            } catch {
              // A comment-like payload: refresh everything rather than miss a change.
            }
            this.notify(runId);
          },
        });
      } catch {
        // No stream here (or it broke): polling keeps the page live until it comes back.
      }
      if (signal.aborted) return;
      this.poll();
      await new Promise((resolve) => setTimeout(resolve, RETRY_STREAM_MS));
    }
  }
}
