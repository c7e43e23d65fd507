import type { ApiCall } from '../lib/api-client';
import type { PlanEntries } from './report-schedule';
import type { ReportStore } from './report-store';

/** What every step of one `report:robustness` invocation shares, passed explicitly. */
export interface ReportSession {
  api: ApiCall;
  /** The API's base URL, for the raw downloads ApiCall does not make (checkpoint files). */
  apiBase: string;
  /** The whole plan (dependencies are looked up in it, whatever this invocation works on). */
  plan: PlanEntries;
  /** Plan id → fingerprint (plan-fingerprint.ts). */
  fingerprints: Map<string, string>;
  /** What earlier invocations measured (empty for --only and --fresh). */
  store: ReportStore;
  storePath: string;
  log: (line: string) => void;
}
