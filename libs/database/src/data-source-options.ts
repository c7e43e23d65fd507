import type { DataSourceOptions } from 'typeorm';
import { Checkpoint } from './entities/checkpoint.entity';
import { Metric } from './entities/metric.entity';
import { Run } from './entities/run.entity';
import { InitialSchema1764086400000 } from './migrations/1764086400000-initial-schema';
import { Evaluations1764100000000 } from './migrations/1764100000000-evaluations';
import { EvaluationViews1764200000000 } from './migrations/1764200000000-evaluation-views';
import { AdversarialExample } from './entities/adversarial-example.entity';
import { RobustnessResult } from './entities/robustness-result.entity';
import { EvaluationShard } from './entities/evaluation-shard.entity';
import { EvaluationShards1764300000000 } from './migrations/1764300000000-evaluation-shards';
import { CrashBudget1764400000000 } from './migrations/1764400000000-crash-budget';
import { TenantsAndApiKeys1764500000000 } from './migrations/1764500000000-tenants-and-api-keys';
import { DashboardSqlViews1764900000000 } from './migrations/1764900000000-dashboard-sql-views';
import { Tenant } from './entities/tenant.entity';
import { ApiKey } from './entities/api-key.entity';
import { Datasets1764800000000 } from './migrations/1764800000000-datasets';

export const ENTITIES = [Run, Metric, Checkpoint, RobustnessResult, AdversarialExample, EvaluationShard, Tenant, ApiKey];
/** In timestamp order. Listed by class, not by glob, so they resolve the same from src and dist. */
export const MIGRATIONS = [
  InitialSchema1764086400000,
  Evaluations1764100000000,
  EvaluationViews1764200000000,
  EvaluationShards1764300000000,
  CrashBudget1764400000000,
  TenantsAndApiKeys1764500000000,
  Datasets1764800000000,
  DashboardSqlViews1764900000000,
];

/** Bounds on waiting for Postgres, for a process that must answer while it is down (the API). */
export interface PostgresTimeouts {
  /** A new connection that takes longer fails (Postgres down or unreachable). */
  connectTimeoutMs: number;
  /** A query with no answer after this long fails on the client: a frozen server cannot hold a request forever. */
  queryTimeoutMs: number;
}

export function dataSourceOptions(databaseUrl: string, applicationName = 'bulwark', timeouts?: PostgresTimeouts): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    // Schema changes happen only through migrations, run as an explicit step.
    synchronize: false,
    migrationsRun: false,
    applicationName,
    extra: {
      max: 5,
      ...(timeouts && { connectionTimeoutMillis: timeouts.connectTimeoutMs, query_timeout: timeouts.queryTimeoutMs }),
    },
  };
}
