import type { DataSource } from 'typeorm';
import { NO_RUN_EVENTS, type RunEventBody, type RunEventSink, type RunKind } from '@bulwark/spec';
import { Run } from './entities/run.entity';

/** Whose a run is and what: all an event needs besides what changed, and never changing once stored. */
interface RunOwner {
  tenantId: string;
  kind: RunKind;
}

/** Owners remembered per process: a worker's few runs, an API's recent ones; past it the memory starts over. */
const OWNER_CACHE_SIZE = 1000;

/**
 * Hands the repositories' events to their sink once a write has committed, adding whose run it
 * is (looked up once per run and remembered). Never throws: the write it reports has succeeded,
 * and a lost event only costs a live view its freshness (Postgres stays the truth).
 */
export class RunEventEmitter {
  private readonly owners = new Map<string, Promise<RunOwner | null>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly sink: RunEventSink = NO_RUN_EVENTS,
  ) {}

  async emit(runId: string, bodies: RunEventBody[], owner?: RunOwner): Promise<void> {
    if (this.sink === NO_RUN_EVENTS || !bodies.length) return;
    try {
      const known = owner ?? (await this.ownerOf(runId));
      if (!known) return;
      const at = new Date().toISOString();
      for (const body of bodies) await this.sink.publish(known.tenantId, { ...body, runId, kind: known.kind, at });
    } catch (err) {
      console.warn(`run events: no event for run ${runId} (${(err as Error).message})`);
    }
  }

  private ownerOf(runId: string): Promise<RunOwner | null> {
    let owner = this.owners.get(runId);
    if (!owner) {
      if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.clear();
      owner = this.dataSource
        .getRepository(Run)
        .findOne({ where: { id: runId }, select: { id: true, tenantId: true, kind: true } })
        .then((run) => run && { tenantId: run.tenantId, kind: run.kind });
      // A failed lookup (Postgres blinked) is tried again next time, not remembered.
      owner.catch(() => this.owners.delete(runId));
      this.owners.set(runId, owner);
    }
    return owner;
  }
}
