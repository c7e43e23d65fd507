/**
 * The Dockerfile without a Docker engine: it is parsed into stages, its COPY sources and npm
 * scripts are checked against the repository, and its build stage is replayed as plain commands
 * in a temporary directory laid out like the container (WORKDIR /app -> <tmp>/app), with the
 * build context filtered through .dockerignore exactly as Docker would send it. `npm ci` is the
 * one step not re-run: its inputs are checked and the repository's node_modules is linked in.
 */
import { execSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const DOCKERFILE = join(ROOT, 'Dockerfile');
const TFJS_VARIANTS = ['cpu', 'gpu', 'none'];

// ---------------------------------------------------------------------------------------------
// Dockerfile parsing (the subset of the syntax this Dockerfile may use)

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  /** Image reference or earlier stage name, with build args substituted. */
  base: string;
  instructions: Instruction[];
}

interface ParsedDockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current: string | undefined;
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comments (parser directives included) and, inside a continuation, blank lines are dropped.
    if (trimmed.startsWith('#') || (trimmed === '' && current === undefined)) return;
    if (trimmed === '') return;
    if (current === undefined) start = i + 1;
    const continued = /\\\s*$/.test(raw);
    const piece = continued ? raw.replace(/\\\s*$/, '') : raw;
    current = current === undefined ? piece : `${current} ${piece}`;
    if (!continued) {
      out.push({ text: current.trim(), line: start });
      current = undefined;
    }
  });
  if (current !== undefined) out.push({ text: current.trim(), line: start });
  return out;
}

function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (_m, braced: string, fallback: string, bare: string) => {
    const name = braced ?? bare;
    return vars[name] ?? fallback ?? '';
  });
}

function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: lineText, line } of logicalLines(text)) {
    const match = /^(\w+)\s*(.*)$/s.exec(lineText);
    if (!match) throw new Error(`Dockerfile:${line}: cannot parse "${lineText}"`);
    const keyword = match[1].toUpperCase();
    const args = match[2].trim();
    if (keyword === 'FROM') {
      const tokens = args.split(/\s+/).filter((t) => !t.startsWith('--platform'));
      const vars = { ...globalArgs, ...buildArgs };
      const asIndex = tokens.findIndex((t) => t.toUpperCase() === 'AS');
      stages.push({
        index: stages.length,
        base: substitute(tokens[0], vars),
        name: asIndex >= 0 ? tokens[asIndex + 1] : undefined,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile:${line}: ${keyword} before the first FROM`);
      const [name, ...rest] = args.split('=');
      globalArgs[name.trim()] = rest.join('=').trim();
    } else {
      stages[stages.length - 1].instructions.push({ keyword, args, line });
    }
  }
  return { globalArgs, stages };
}

function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`bad exec form ${args}`);
  return parsed;
}

function parseCopy(instruction: Instruction): Copy {
  const exec = execForm(instruction.args);
  const tokens = exec ?? instruction.args.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const paths = tokens.filter((t) => !t.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1], line: instruction.line };
}

function stageByName(df: ParsedDockerfile, name: string): Stage | undefined {
  return df.stages.find((s) => s.name === name);
}

/** The stage itself and the stages it is built FROM, oldest first. */
function lineage(df: ParsedDockerfile, stage: Stage): Stage[] {
  const chain = [stage];
  for (let s = stageByName(df, stage.base); s; s = stageByName(df, s.base)) chain.unshift(s);
  return chain;
}

function rootImage(df: ParsedDockerfile, stage: Stage): string {
  return lineage(df, stage)[0].base;
}

function instructionsOf(df: ParsedDockerfile, stage: Stage, keyword: string): Instruction[] {
  return lineage(df, stage).flatMap((s) => s.instructions.filter((i) => i.keyword === keyword));
}

/** Last WORKDIR along the stage's lineage, resolved against the earlier ones. */
function workdirOf(instructions: Instruction[]): string {
  let dir = '/';
  for (const i of instructions) if (i.keyword === 'WORKDIR') dir = posix.resolve(dir, i.args);
  return dir;
}

function finalStage(df: ParsedDockerfile): Stage {
  return df.stages[df.stages.length - 1];
}

// ---------------------------------------------------------------------------------------------
// .dockerignore, with Docker's semantics: patterns relative to the context root, `**` across
// directories, `!` re-includes, the last matching line wins, and a matching directory excludes
// everything below it.

function dockerignore(text: string): (relPath: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim().replace(/^\/+/, ''));
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i];
        if (c === '*' && pattern[i + 1] === '*') {
          if (pattern[i + 2] === '/') {
            re += '(?:.*/)?';
            i += 2;
          } else {
            re += '.*';
            i += 1;
          }
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (relPath: string) => {
    const parts = relPath.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (candidates.some((c) => rule.re.test(c))) ignored = !rule.negate;
    return ignored;
  };
}

// ---------------------------------------------------------------------------------------------
// Replaying a stage

interface Replay {
  /** The container's filesystem root, as a directory on this machine. */
  fsRoot: string;
  hostPath(containerPath: string): string;
}

function copyFiltered(src: string, dest: string, isIgnored: (rel: string) => boolean): void {
  const rel = relative(ROOT, src).split('\\').join('/');
  if (isIgnored(rel)) return;
  if (statSync(src).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const entry of readdirSync(src)) copyFiltered(join(src, entry), join(dest, entry), isIgnored);
  } else {
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(src, dest);
  }
}

function replayStage(df: ParsedDockerfile, stage: Stage, replay: Replay, isIgnored: (rel: string) => boolean): void {
  const own = stageByName(df, stage.base);
  if (own) replayStage(df, own, replay, isIgnored);
  let workdir = workdirOf(
    lineage(df, stage)
      .slice(0, -1)
      .flatMap((s) => s.instructions),
  );
  for (const instruction of stage.instructions) {
    const where = `Dockerfile:${instruction.line}`;
    switch (instruction.keyword) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, instruction.args);
        mkdirSync(replay.hostPath(workdir), { recursive: true });
        break;
      case 'COPY': {
        const copy = parseCopy(instruction);
        if (copy.from !== undefined) throw new Error(`${where}: the replayed stage copies from ${copy.from}`);
        const dest = posix.resolve(workdir, copy.dest);
        const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
        for (const source of copy.sources) {
          const src = join(ROOT, source);
          const target = statSync(src).isDirectory() || !intoDir ? dest : posix.join(dest, basename(source));
          if (!statSync(src).isDirectory() && isIgnored(source)) {
            throw new Error(`${where}: ${source} is excluded by .dockerignore, so COPY would fail`);
          }
          copyFiltered(src, replay.hostPath(target), isIgnored);
        }
        break;
      }
      case 'RUN': {
        const cwd = replay.hostPath(workdir);
        const command = execForm(instruction.args)?.join(' ') ?? instruction.args;
        if (/\bnpm\s+(ci|install)\b/.test(command)) {
          if (!/^npm\s+ci(\s+--[\w=-]+)*$/.test(command.trim())) {
            throw new Error(`${where}: cannot replay "${command}"; keep the build stage's npm ci on a RUN of its own`);
          }
          // npm ci refuses to run without both, and the lockfile is what pins the image's deps.
          expect(existsSync(join(cwd, 'package.json'))).toBe(true);
          expect(existsSync(join(cwd, 'package-lock.json'))).toBe(true);
          symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
        } else {
          try {
            execSync(command, { cwd, shell: '/bin/sh', stdio: 'pipe', env: process.env, timeout: 150_000 });
          } catch (err) {
            const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
            throw new Error(`${where}: RUN ${command} failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? e.message}`);
          }
        }
        break;
      }
      case 'ENV':
      case 'ARG':
      case 'LABEL':
        break;
      default:
        throw new Error(`${where}: the build stage replay does not know ${instruction.keyword}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
const df = parseDockerfile(dockerfileText);
const isIgnored = dockerignore(existsSync(join(ROOT, '.dockerignore')) ? readFileSync(join(ROOT, '.dockerignore'), 'utf8') : '');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

function npmCiRuns(stage: Stage): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm\s+ci\b/.test(i.args));
}

/** Where the final stage's copy of `containerPath` came from: [stage, path in that stage]. */
function provenance(stage: Stage, containerPath: string): { from?: string; path: string } | undefined {
  const workdir = workdirOf(instructionsOf(df, stage, 'WORKDIR'));
  for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY').reverse()) {
    const copy = parseCopy(instruction);
    for (const source of copy.sources) {
      // `COPY a b ./` puts files at ./a and ./b; a directory source is copied by its contents.
      const isContextDir = copy.from === undefined && statSync(join(ROOT, source)).isDirectory();
      const intoDir = (copy.dest.endsWith('/') || copy.sources.length > 1) && !isContextDir;
      const dest = posix.resolve(workdir, copy.dest, intoDir ? posix.basename(source) : '.');
      if (containerPath === dest || containerPath.startsWith(`${dest}/`)) {
        const from = copy.from !== undefined ? posix.resolve(workdir, source) : source;
        return { from: copy.from, path: from + containerPath.slice(dest.length) };
      }
    }
  }
  return undefined;
}

/**
 * `node <script>` commands the image runs: its CMD and the start scripts (compose.spec.ts holds
 * docker-compose.yml's commands to these scripts).
 */
function entryPoints(): { origin: string; argv: string[] }[] {
  const out: { origin: string; argv: string[] }[] = [];
  const cmd = instructionsOf(df, finalStage(df), 'CMD').pop();
  if (cmd) out.push({ origin: 'Dockerfile CMD', argv: execForm(cmd.args) ?? cmd.args.split(/\s+/) });
  for (const script of ['start:api', 'start:worker', 'migrate']) {
    out.push({ origin: `npm run ${script}`, argv: pkg.scripts[script].trim().split(/\s+/) });
  }
  return out;
}

describe('Dockerfile', () => {
  it('has a build stage, a production-deps stage and a default runtime stage on node:20-bookworm-slim', () => {
    expect(df.stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'runtime']));
    const runtime = finalStage(df);
    expect(runtime.name).toBe('runtime');
    expect(rootImage(df, runtime)).toBe('node:20-bookworm-slim');
    expect(rootImage(df, stageByName(df, 'build')!)).toBe('node:20-bookworm-slim');
  });

  it.each(TFJS_VARIANTS)('builds a runtime on a pinned base image with TFJS=%s', (tfjs) => {
    const variant = parseDockerfile(dockerfileText, { TFJS: tfjs });
    const runtime = finalStage(variant);
    const root = rootImage(variant, runtime);
    // An unknown stage name would be pulled as an image and fail at build time.
    expect(stageByName(variant, root)).toBeUndefined();
    expect(root).toMatch(/^[\w./-]+:[\w.-]+$/);
    expect(root).not.toMatch(/:latest$/);
    if (tfjs === 'gpu') expect(root).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime/);
    else expect(root).toBe('node:20-bookworm-slim');
    // The shell script behind TFJS must know every variant the stages offer.
    expect(dockerfileText).toMatch(new RegExp(`^\\s*${tfjs}\\)`, 'm'));
  });

  it('pins every base image and copies --from earlier stages only', () => {
    df.stages.forEach((stage) => {
      const earlier = df.stages.slice(0, stage.index).map((s) => s.name);
      if (!earlier.includes(stage.base)) expect(stage.base).toMatch(/^[\w./-]+:[\w.-]+$/);
      for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY')) {
        const { from } = parseCopy(instruction);
        if (from !== undefined)
          expect({ line: instruction.line, from, earlier: earlier.includes(from) }).toEqual({ line: instruction.line, from, earlier: true });
      }
    });
  });

  it('copies only paths that exist in the repository and that .dockerignore sends', () => {
    const problems: string[] = [];
    for (const stage of df.stages) {
      for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        if (instruction.keyword === 'ADD') problems.push(`line ${instruction.line}: use COPY, not ADD`);
        const copy = parseCopy(instruction);
        if (copy.from !== undefined) continue;
        for (const source of copy.sources) {
          if (/[*?[]/.test(source)) problems.push(`line ${copy.line}: glob ${source} is not checked; name the paths`);
          else if (!existsSync(join(ROOT, source))) problems.push(`line ${copy.line}: ${source} does not exist`);
          else if (isIgnored(source)) problems.push(`line ${copy.line}: ${source} is excluded by .dockerignore`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('keeps host node_modules, dist, .git and secrets out of the build context', () => {
    for (const path of ['node_modules/typescript/package.json', 'dist/apps/api/src/main.js', '.git/HEAD', '.env', 'coverage/lcov.info']) {
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: true });
    }
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'libs/config/src/env-schema.ts']) {
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: false });
    }
  });

  it('runs npm ci only where package.json and package-lock.json are already copied, from an in-sync lockfile', () => {
    const stagesWithCi = df.stages.filter((s) => npmCiRuns(s).length > 0);
    expect(stagesWithCi.length).toBeGreaterThanOrEqual(2);
    for (const stage of stagesWithCi) {
      const firstCi = npmCiRuns(stage)[0].line;
      const workdir = workdirOf(instructionsOf(df, stage, 'WORKDIR'));
      const copied = stage.instructions
        .filter((i) => i.keyword === 'COPY' && i.line < firstCi)
        .map(parseCopy)
        .filter((c) => c.from === undefined)
        .flatMap((c) => c.sources.map((s) => ({ source: s, dest: posix.resolve(workdir, c.dest) })));
      for (const input of ['package.json', 'package-lock.json']) {
        expect(existsSync(join(ROOT, input))).toBe(true);
        expect({ stage: stage.name, input, copied: copied.some((c) => c.source === input && c.dest === workdir) }).toEqual({
          stage: stage.name,
          input,
          copied: true,
        });
      }
    }
    // npm ci aborts when package.json and the lockfile disagree about the direct dependencies.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<
        string,
        { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
      >;
    };
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    const rootEntry = lock.packages[''];
    expect(rootEntry.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(rootEntry.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(rootEntry.optionalDependencies ?? {}).toEqual(pkg.optionalDependencies ?? {});
  });

  it('names only package.json scripts in `npm run`', () => {
    const commands = df.stages.flatMap((s) => s.instructions.filter((i) => ['RUN', 'CMD', 'ENTRYPOINT'].includes(i.keyword)));
    const used = commands.flatMap((i) => [...i.args.matchAll(/\bnpm\s+run(?:-script)?\s+([\w:.-]+)/g)].map((m) => m[1]));
    expect(used).toContain('build');
    expect(used.filter((script) => !(script in pkg.scripts))).toEqual([]);
  });

  it('runs as a non-root user with production dependencies only', () => {
    const runtime = finalStage(df);
    const user = instructionsOf(df, runtime, 'USER').pop()?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);

    const workdir = workdirOf(instructionsOf(df, runtime, 'WORKDIR'));
    const nodeModules = provenance(runtime, posix.join(workdir, 'node_modules'));
    expect(nodeModules?.from).toBeDefined();
    const depsStage = stageByName(df, nodeModules!.from!)!;
    expect(depsStage).toBeDefined();
    const ci = npmCiRuns(depsStage).map((i) => i.args);
    expect(ci).toHaveLength(1);
    expect(ci[0]).toMatch(/npm\s+ci\b[^&;|]*--omit=dev/);

    const cmd = instructionsOf(df, runtime, 'CMD').pop();
    expect(cmd && execForm(cmd.args)).toEqual(pkg.scripts['start:api'].trim().split(/\s+/));
  });

  describe('build stage replayed as plain commands', () => {
    let tmp: string;
    let replay: Replay;

    beforeAll(() => {
      tmp = mkdtempSync(join(tmpdir(), 'bulwark-docker-'));
      replay = { fsRoot: tmp, hostPath: (p) => join(tmp, p) };
      replayStage(df, stageByName(df, 'build')!, replay, isIgnored);
    }, 170_000);

    afterAll(() => {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    function builtPath(runtimePath: string): string {
      const origin = provenance(finalStage(df), runtimePath);
      if (origin === undefined) throw new Error(`nothing in the runtime stage provides ${runtimePath}`);
      if (origin.from !== 'build') throw new Error(`${runtimePath} comes from ${origin.from ?? 'the context'}, not the build stage`);
      return replay.hostPath(origin.path);
    }

    it('produces everything the runtime stage copies from it', () => {
      const runtime = finalStage(df);
      const fromBuild = runtime.instructions
        .filter((i) => i.keyword === 'COPY')
        .map(parseCopy)
        .filter((c) => c.from === 'build');
      expect(fromBuild.length).toBeGreaterThan(0);
      for (const copy of fromBuild) {
        for (const source of copy.sources) expect({ source, exists: existsSync(replay.hostPath(source)) }).toEqual({ source, exists: true });
      }
    });

    it('produces the file of every node command the image is started with', () => {
      const workdir = workdirOf(instructionsOf(df, finalStage(df), 'WORKDIR'));
      const points = entryPoints();
      expect(points.map((p) => p.origin)).toEqual(expect.arrayContaining(['Dockerfile CMD', 'npm run start:api', 'npm run start:worker', 'npm run migrate']));
      for (const { origin, argv } of points) {
        expect({ origin, binary: argv[0] }).toEqual({ origin, binary: 'node' });
        const script = posix.resolve(workdir, argv[1]);
        expect({ origin, script, exists: existsSync(builtPath(script)) }).toEqual({ origin, script, exists: true });
      }
    });

    it('compiles every app and lib file the repository build compiles (processors the worker loads by path too)', () => {
      const dist = builtPath(posix.join(workdirOf(instructionsOf(df, finalStage(df), 'WORKDIR')), 'dist'));
      // The repository's own file list, so a file the Dockerfile or .dockerignore leaves out shows up.
      const listed = execSync(`${join(ROOT, 'node_modules/.bin/tsc')} -p tsconfig.build.json --listFilesOnly`, {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      const sources = listed
        .split('\n')
        .map((f) => relative(ROOT, f.trim()).split('\\').join('/'))
        .filter((f) => /^(apps|libs)\//.test(f) && f.endsWith('.ts') && !f.endsWith('.d.ts'));
      expect(sources).toContain('apps/api/src/main.ts');
      const missing = sources.filter((f) => !existsSync(join(dist, f.replace(/\.ts$/, '.js'))));
      expect(missing).toEqual([]);
    });

    it('requires only production dependencies from compiled code (the image has no devDependencies)', () => {
      const dist = builtPath(posix.join(workdirOf(instructionsOf(df, finalStage(df), 'WORKDIR')), 'dist'));
      const allowed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
      const offenders = new Set<string>();
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.name.endsWith('.js')) {
            for (const m of readFileSync(path, 'utf8').matchAll(/require\(["']([^"'./][^"']*)["']\)/g)) {
              const specifier = m[1];
              if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) continue;
              const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
              if (!allowed.has(name)) offenders.add(`${relative(dist, path)}: ${name}`);
            }
          }
        }
      };
      walk(dist);
      expect([...offenders]).toEqual([]);
    });

    it.each(['start:api', 'start:worker', 'migrate'])(
      'loads the compiled `npm run %s` entry point and fails fast, naming DATABASE_URL, when it is unset',
      (script) => {
        const workdir = workdirOf(instructionsOf(df, finalStage(df), 'WORKDIR'));
        const [node, file] = pkg.scripts[script].trim().split(/\s+/);
        const run = spawnSync(node, [builtPath(posix.resolve(workdir, file))], {
          cwd: replay.hostPath(workdir),
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '' },
          timeout: 30_000,
        });
        // Every import resolved (a missing module would fail before the config is read).
        expect(run.stderr).not.toMatch(/Cannot find module/);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toContain('DATABASE_URL');
      },
      40_000,
    );

    it('rewrites @bulwark/* imports to relative paths (node has no tsconfig paths at run time)', () => {
      const dist = builtPath(posix.join(workdirOf(instructionsOf(df, finalStage(df), 'WORKDIR')), 'dist'));
      const offenders: string[] = [];
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) walk(path);
          else if (entry.name.endsWith('.js') && /require\(["']@bulwark\//.test(readFileSync(path, 'utf8'))) offenders.push(relative(dist, path));
        }
      };
      walk(dist);
      expect(offenders).toEqual([]);
    });
  });
});
