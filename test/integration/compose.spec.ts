/**
 * docker-compose.yml (and the GPU override) as Compose itself reads it: `docker-compose config`
 * validates the file and prints it normalised (anchors merged, variables interpolated, short
 * syntax expanded), and the assertions run on that output. Works with docker-compose 1.29 and
 * with the Compose v2 plugin, whose output spells ports, volumes and durations differently.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { AppName, ENV_SCHEMA } from '../../libs/config/src/env-schema';

const ROOT = resolve(__dirname, '../..');
const BULWARK_SERVICES: readonly AppName[] = ['migrate', 'api', 'worker'];

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  command?: string | string[];
  environment?: Record<string, string | number | null>;
  volumes?: (string | { type?: string; source?: string; target: string })[];
  ports?: (string | number | { target: number | string; published?: number | string })[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: Healthcheck;
  restart?: string;
  container_name?: string;
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

function asArgv(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command : command.trim().split(/\s+/);
}

function dependsOn(service: Service): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition]));
}

function namedVolumes(service: Service, declared: Record<string, unknown>): string[] {
  return (service.volumes ?? [])
    .map((v) => (typeof v === 'string' ? v.split(':')[0] : v.type === 'volume' || v.type === undefined ? v.source : undefined))
    .filter((source): source is string => source !== undefined && source in declared);
}

function volumeTarget(service: Service, volume: string): string | undefined {
  for (const v of service.volumes ?? []) {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (source === volume) return target;
    } else if (v.source === volume) {
      return v.target;
    }
  }
  return undefined;
}

interface PortMapping {
  target: string;
  published?: string;
}
function portMappings(service: Service): PortMapping[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { target: String(p.target), published: p.published === undefined ? undefined : String(p.published) };
    }
    // Short syntax: [ip:][published:]target[/protocol]
    const parts = String(p).replace(/\/\w+$/, '').split(':');
    const target = parts[parts.length - 1];
    return { target, published: parts.length >= 2 ? parts[parts.length - 2] : undefined };
  });
}

/** Compose 1.29 keeps "60s"; Compose v2 prints Go durations such as "1m0s". */
function durationSeconds(value: string | undefined): number {
  if (value === undefined) return 10; // Docker's default stop timeout
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)/g;
  let matched = '';
  for (let m = re.exec(value); m; m = re.exec(value)) {
    total += Number(m[1]) * units[m[2]];
    matched += m[0];
  }
  if (matched !== value) throw new Error(`unparseable duration ${value}`);
  return total;
}

/**
 * How long the worker itself waits for active jobs after SIGTERM (SHUTDOWN_GRACE_MS in its
 * source); Docker must not SIGKILL before that wait and the hand-back after it are over.
 */
function workerShutdownWaitSeconds(): number {
  const dir = join(ROOT, 'apps/worker/src');
  const files = existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }) : [];
  for (const file of files.filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
    const m = /SHUTDOWN_GRACE_MS\s*=\s*([\d_]+)/.exec(readFileSync(join(dir, file), 'utf8'));
    if (m) return Number(m[1].replace(/_/g, '')) / 1000;
  }
  return 30;
}

function healthcheckText(service: Service): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : test ?? '';
}

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function packageScriptArgv(script: string): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
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
    const volumes = namedVolumes(postgres, config.volumes ?? {});
    expect(volumes).toHaveLength(1);
    expect(volumeTarget(postgres, volumes[0])).toBe('/var/lib/postgresql/data');
    expect(healthcheckText(postgres)).toContain('pg_isready');
  });

  it('runs Redis with AOF persistence on a named volume and without eviction (BullMQ needs both)', () => {
    const redis = config.services.redis;
    expect(redis.image).toMatch(/^redis:7(\.|-|$)/);
    const argv = asArgv(redis.command);
    expect(argv[argv.indexOf('--appendonly') + 1]).toBe('yes');
    expect(argv[argv.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    expect(argv).toContain('--appendonly');
    expect(argv).toContain('--maxmemory-policy');
    const volumes = namedVolumes(redis, config.volumes ?? {});
    expect(volumes).toHaveLength(1);
    expect(volumeTarget(redis, volumes[0])).toBe('/data');
    expect(healthcheckText(redis)).toMatch(/redis-cli.*ping/);
  });

  it('runs migrations once, after Postgres is healthy, with the migrate entry point', () => {
    const migrate = config.services.migrate;
    expect(migrate.restart ?? 'no').toBe('no');
    expect(dependsOn(migrate)).toEqual({ postgres: 'service_healthy' });
    expect(asArgv(migrate.command)).toEqual(packageScriptArgv('migrate'));
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
    expect(asArgv(config.services.api.command)).toEqual(packageScriptArgv('start:api'));
    expect(asArgv(config.services.worker.command)).toEqual(packageScriptArgv('start:worker'));
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
    expect(portMappings(api)).toEqual([{ target: '3000', published: '3000' }]);

    const moved = composeConfig(['docker-compose.yml'], { API_PORT: '8089' }).services.api;
    expect(envOf(moved).API_PORT).toBe('8089');
    expect(portMappings(moved)).toEqual([{ target: '8089', published: '8089' }]);
  });

  it('lets the worker scale: no container_name, no host port, and time for a graceful SIGTERM', () => {
    const worker = config.services.worker;
    expect(worker.container_name).toBeUndefined();
    expect(portMappings(worker).filter((p) => p.published !== undefined)).toEqual([]);
    expect(durationSeconds(worker.stop_grace_period)).toBeGreaterThanOrEqual(workerShutdownWaitSeconds() + 10);
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
    expect(worker.deploy?.resources?.reservations?.devices).toEqual([
      expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] }),
    ]);
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
