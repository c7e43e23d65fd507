/**
 * docker-compose.yml (and the GPU override) as Compose itself reads it: `docker-compose config`
 * validates the file (schema, references between services and volumes, durations) and prints
 * it normalised (anchors merged, variables interpolated, depends_on and ports in long syntax),
 * and the assertions here check what no schema can: that the services fit each other, the
 * Dockerfile, package.json and the environment schema. Works with docker-compose 1.29 and with
 * Compose v2, which print volumes and durations differently.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { AppName, ENV_SCHEMA } from '../../libs/config/src/env-schema';

const ROOT = resolve(__dirname, '../..');
const BULWARK_SERVICES: readonly AppName[] = ['migrate', 'api', 'worker'];

/** The parts of `docker-compose config`'s output the checks read. */
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | number | null>;
  /** "source:target:mode" from Compose 1.29, long syntax from Compose v2. */
  volumes?: (string | { source?: string; target: string })[];
  /** Published as a number by Compose 1.29, as a string by Compose v2. */
  ports?: { target: number | string; published?: number | string }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] };
  restart?: string;
  container_name?: string;
  /** "60s" from Compose 1.29, "1m0s" from Compose v2. */
  stop_grace_period?: string;
  init?: boolean;
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; capabilities?: string[] }[] } } };
}
interface ComposeConfig {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** `docker-compose` (1.29, from Debian) or the `docker compose` v2 plugin, whichever exists. */
function findCompose(): string[] {
  const candidates = [['docker-compose'], ['docker', 'compose']];
  for (const cmd of candidates) {
    const probe = spawnSync(cmd[0], [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return cmd;
  }
  throw new Error(
    'Neither `docker-compose` nor `docker compose` is installed; these tests need one to validate ' +
      'docker-compose.yml (Debian: `apt-get install -y docker-compose`).',
  );
}

let compose: string[];
let workDir: string;
let emptyEnvFile: string;

beforeAll(() => {
  compose = findCompose();
  workDir = mkdtempSync(join(tmpdir(), 'bulwark-compose-'));
  // An empty --env-file keeps a developer's own .env out of the interpolation.
  emptyEnvFile = join(workDir, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function composeConfig(files: string[], env: Record<string, string> = {}): ComposeConfig {
  const args = [...compose.slice(1), '--env-file', emptyEnvFile, '--project-directory', ROOT];
  for (const f of files) args.push('-f', join(ROOT, f));
  args.push('config');
  let out: string;
  try {
    out = execFileSync(compose[0], args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what interpolation should see: no stray API_PORT etc. from the caller's shell.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? workDir, ...env },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${compose.join(' ')} config rejected ${files.join(' + ')}:\n${e.stderr ?? e.message}`);
  }
  return parse(out) as ComposeConfig;
}

function dependsOn(service: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(service.depends_on ?? {}).map(([name, d]) => [name, d.condition]));
}

/** The named volume (declared at the top level, not a bind mount) mounted at `target`. */
function namedVolumeAt(config: ComposeConfig, service: Service, target: string): string | undefined {
  const mounts = (service.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v));
  const source = mounts.find((m) => m.target === target)?.source;
  return source !== undefined && source in (config.volumes ?? {}) ? source : undefined;
}

function ports(service: Service): { target: string; published?: string }[] {
  return (service.ports ?? []).map((p) => ({ target: String(p.target), ...(p.published === undefined ? {} : { published: String(p.published) }) }));
}

function durationSeconds(value: string | undefined): number {
  if (value === undefined) return 10; // Docker's default stop timeout
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...value.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)].reduce((total, [, n, unit]) => total + Number(n) * units[unit], 0);
}

function healthcheckText(service: Service): string {
  return (service.healthcheck?.test ?? []).join(' ');
}

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** What the worker waits for its running jobs after SIGTERM: its environment's value or the schema's default. */
function workerShutdownGraceSeconds(worker: Service): number {
  const name = 'WORKER_SHUTDOWN_GRACE_MS';
  const value = envOf(worker)[name] ?? ENV_SCHEMA.find((spec) => spec.name === name)?.default;
  if (value === undefined) throw new Error(`${name} has no default in ENV_SCHEMA`);
  return Number(value) / 1000;
}

function packageScriptArgv(script: string): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string | undefined> };
  const command = pkg.scripts[script];
  if (command === undefined) throw new Error(`package.json has no script ${script}`);
  return command.trim().split(/\s+/);
}

/** Checks that hold for the base file and for every override layered on it. */
function expectBulwarkEnvironmentValid(config: ComposeConfig): void {
  for (const app of BULWARK_SERVICES) {
    const service = config.services[app];
    const env = envOf(service);
    const allowed = ENV_SCHEMA.filter((spec) => spec.apps.includes(app)).map((spec) => spec.name);
    const required = ENV_SCHEMA.filter((spec) => spec.apps.includes(app) && spec.required).map((spec) => spec.name);

    const undeclared = Object.keys(env).filter((name) => !allowed.includes(name));
    expect({ service: app, undeclared }).toEqual({ service: app, undeclared: [] });
    const missing = required.filter((name) => !env[name]);
    expect({ service: app, missing }).toEqual({ service: app, missing: [] });
    // An empty value is not "unset": config validation would reject it instead of defaulting.
    const empty = Object.keys(env).filter((name) => env[name] === '');
    expect({ service: app, empty }).toEqual({ service: app, empty: [] });
  }
}

describe('docker-compose.yml', () => {
  let config: ComposeConfig;

  beforeAll(() => {
    config = composeConfig(['docker-compose.yml']);
  });

  it('declares postgres, redis, migrate, api and worker', () => {
    expect(Object.keys(config.services).sort()).toEqual(['api', 'migrate', 'postgres', 'redis', 'worker']);
  });

  it('keeps Postgres data in a named volume and checks readiness with pg_isready', () => {
    const postgres = config.services.postgres;
    expect(postgres.image).toMatch(/^postgres:15(\.|-|$)/);
    expect(namedVolumeAt(config, postgres, '/var/lib/postgresql/data')).toBeDefined();
    expect(healthcheckText(postgres)).toContain('pg_isready');
  });

  it('runs Redis with AOF persistence on a named volume and without eviction (BullMQ needs both)', () => {
    const redis = config.services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const argv = redis.command ?? [];
    expect(argv).toContain('--appendonly');
    expect(argv[argv.indexOf('--appendonly') + 1]).toBe('yes');
    expect(argv).toContain('--maxmemory-policy');
    expect(argv[argv.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(namedVolumeAt(config, redis, '/data')).toBeDefined();
    expect(healthcheckText(redis)).toMatch(/redis-cli.*ping/);
  });

  it('runs migrations once, after Postgres is healthy, with the migrate entry point', () => {
    const migrate = config.services.migrate;
    expect(migrate.restart ?? 'no').toBe('no');
    expect(dependsOn(migrate)).toEqual({ postgres: 'service_healthy' });
    expect(migrate.command).toEqual(packageScriptArgv('migrate'));
    expect(migrate.ports ?? []).toEqual([]);
  });

  it.each(['api', 'worker'])('starts %s only after migrate succeeded and Postgres and Redis are healthy', (name) => {
    expect(dependsOn(config.services[name])).toEqual({
      migrate: 'service_completed_successfully',
      postgres: 'service_healthy',
      redis: 'service_healthy',
    });
  });

  it('runs api and worker with the same commands as `npm run start:api` / `start:worker`', () => {
    expect(config.services.api.command).toEqual(packageScriptArgv('start:api'));
    expect(config.services.worker.command).toEqual(packageScriptArgv('start:worker'));
  });

  it('builds migrate, api and worker from this repository as one image', () => {
    const images = new Set<string | undefined>();
    for (const name of BULWARK_SERVICES) {
      const build = config.services[name].build;
      expect(build).toBeDefined();
      expect(resolve(ROOT, build!.context)).toBe(ROOT);
      expect(existsSync(resolve(ROOT, build!.context, build!.dockerfile ?? 'Dockerfile'))).toBe(true);
      images.add(config.services[name].image);
    }
    expect(images.size).toBe(1);
  });

  it('health-checks the api through GET /health on its own port', () => {
    const check = healthcheckText(config.services.api);
    expect(check).toContain('/health');
    expect(check).toMatch(/API_PORT/);
  });

  it('publishes the api on API_PORT, the port it listens on', () => {
    const api = config.services.api;
    expect(envOf(api).API_PORT).toBe('3000');
    expect(ports(api)).toEqual([{ target: '3000', published: '3000' }]);

    const moved = composeConfig(['docker-compose.yml'], { API_PORT: '8089' }).services.api;
    expect(envOf(moved).API_PORT).toBe('8089');
    expect(ports(moved)).toEqual([{ target: '8089', published: '8089' }]);
  });

  it('lets the worker scale: no container_name, no host port, and time for a graceful SIGTERM', () => {
    const worker = config.services.worker;
    expect(worker.container_name).toBeUndefined();
    expect(ports(worker).filter((p) => p.published !== undefined)).toEqual([]);
    expect(durationSeconds(worker.stop_grace_period)).toBeGreaterThanOrEqual(workerShutdownGraceSeconds(worker) + 10);
    // Without an init, node is PID 1 and the kernel drops SIGTERM unless a handler is installed.
    expect(worker.init).toBe(true);
  });

  it('sets only variables declared in ENV_SCHEMA for each app, and every required one', () => {
    expectBulwarkEnvironmentValid(config);
  });

  it('points api, worker and migrate at the compose postgres and redis with matching credentials', () => {
    const postgresEnv = envOf(config.services.postgres);
    const api = envOf(config.services.api);
    const worker = envOf(config.services.worker);
    const migrate = envOf(config.services.migrate);

    const db = new URL(api.DATABASE_URL);
    expect(db.protocol).toMatch(/^postgres(ql)?:$/);
    expect([db.hostname, db.port]).toEqual(['postgres', '5432']);
    expect(decodeURIComponent(db.username)).toBe(postgresEnv.POSTGRES_USER);
    expect(decodeURIComponent(db.password)).toBe(postgresEnv.POSTGRES_PASSWORD);
    expect(db.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
    expect(migrate.DATABASE_URL).toBe(api.DATABASE_URL);

    const redis = new URL(api.REDIS_URL);
    expect([redis.protocol, redis.hostname, redis.port || '6379']).toEqual(['redis:', 'redis', '6379']);

    // api enqueues, worker consumes: any variable both read (queue prefix included) must agree,
    // or jobs pile up where no worker looks.
    const shared = ENV_SCHEMA.filter((s) => s.apps.includes('api') && s.apps.includes('worker')).map((s) => s.name);
    for (const name of shared) expect({ name, value: worker[name] }).toEqual({ name, value: api[name] });
  });
});

describe('docker-compose.gpu.yml layered on docker-compose.yml', () => {
  let base: ComposeConfig;
  let gpu: ComposeConfig;

  beforeAll(() => {
    base = composeConfig(['docker-compose.yml']);
    gpu = composeConfig(['docker-compose.yml', 'docker-compose.gpu.yml']);
  });

  it('gives only the worker the CUDA build and a GPU, under its own image name', () => {
    const worker = gpu.services.worker;
    expect(worker.build?.args?.TFJS).toBe('gpu');
    expect(worker.deploy?.resources?.reservations?.devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] })]);
    // Same tag would let the CUDA build overwrite the api's image.
    expect(worker.image).not.toBe(gpu.services.api.image);
    expect(gpu.services.api).toEqual(base.services.api);
    expect(gpu.services.migrate).toEqual(base.services.migrate);
  });

  it('asks for a TFJS variant the Dockerfile has a runtime stage for', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM\s+\S+\s+AS\s+runtime-gpu\s*$/im);
    expect(dockerfile).toMatch(/^FROM\s+runtime-\$\{TFJS\}/im);
  });

  it('still sets only declared variables', () => {
    expectBulwarkEnvironmentValid(gpu);
  });
});
