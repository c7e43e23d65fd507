/**
 * The Dockerfile without a Docker engine. dockerfile-ast (the Dockerfile language server's parser)
 * reads it into stages, and @balena/dockerignore applies .dockerignore with Docker's semantics;
 * the spec checks COPY sources and npm scripts against the repository, then replays the build
 * stage as plain commands in a temporary directory laid out like the container (WORKDIR /app ->
 * <tmp>/app) from the build context Docker would send. `npm ci` is the one step not re-run: its
 * inputs are checked and the repository's node_modules is linked in.
 */
import ignore from '@balena/dockerignore';
import { execSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { Copy, DockerfileParser, Instruction, JSONInstruction } from 'dockerfile-ast';

const ROOT = resolve(__dirname, '../..');
const TFJS_VARIANTS = ['cpu', 'gpu', 'none'];

interface Stage {
  name?: string;
  /** Image reference or earlier stage name, with ARG defaults substituted. */
  base: string;
  /** The stage's instructions after its FROM. */
  instructions: Instruction[];
}

interface CopyArgs {
  from?: string;
  sources: string[];
  dest: string;
}

/** The Dockerfile's stages; buildArgs override ARG defaults as `docker build --build-arg` does. */
function parseStages(text: string, buildArgs: Record<string, string> = {}): Stage[] {
  for (const [name, value] of Object.entries(buildArgs)) {
    const declared = new RegExp(`^ARG ${name}(=.*)?$`, 'm');
    expect(text).toMatch(declared);
    text = text.replace(declared, `ARG ${name}=${value}`);
  }
  const dockerfile = DockerfileParser.parse(text);
  return dockerfile.getFROMs().map((from) => ({
    name: from.getBuildStage() ?? undefined,
    base: from.getExpandedArguments()[0].getValue(),
    instructions: dockerfile.getContainingImage(from.getRange().start)!.getInstructions().slice(1),
  }));
}

const lineOf = (i: Instruction): number => i.getRange().start.line + 1;
const ofKind = (instructions: Instruction[], ...keywords: string[]): Instruction[] => instructions.filter((i) => keywords.includes(i.getKeyword()));

const isExecForm = (i: Instruction): i is JSONInstruction => i instanceof JSONInstruction && i.getOpeningBracket() !== null;
/** The words of an exec-form (JSON) instruction, or the shell-form arguments (flags left out). */
const words = (i: Instruction): string[] => (isExecForm(i) ? i.getJSONStrings().map((s) => s.getJSONValue()) : i.getArguments().map((a) => a.getValue()));
/** The command line of a RUN, CMD or ENTRYPOINT, continuation lines joined. */
const command = (i: Instruction): string => (isExecForm(i) ? words(i).join(' ') : (i.getArgumentsContent() ?? ''));

function copyArgs(i: Instruction): CopyArgs {
  const paths = words(i);
  const from = i instanceof Copy ? i.getFromFlag()?.getValue() : undefined;
  return { from: from ?? undefined, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

/** The stage and the stages it is built FROM, oldest first. */
function lineage(stages: Stage[], stage: Stage): Stage[] {
  const parent = stages.find((s) => s.name === stage.base);
  return parent ? [...lineage(stages, parent), stage] : [stage];
}

const inherited = (stages: Stage[], stage: Stage): Instruction[] => lineage(stages, stage).flatMap((s) => s.instructions);
const rootImage = (stages: Stage[], stage: Stage): string => lineage(stages, stage)[0].base;

function workdirOf(instructions: Instruction[]): string {
  return ofKind(instructions, 'WORKDIR').reduce((dir, i) => posix.resolve(dir, i.getArgumentsContent() ?? ''), '/');
}

/** Where each source of a COPY lands: a directory's contents at dest, a file in dest/ when dest is a directory. */
function landing(copy: CopyArgs, workdir: string): { source: string; target: string }[] {
  const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
  return copy.sources.map((source) => {
    const isDir = copy.from === undefined && statSync(join(ROOT, source)).isDirectory();
    return { source, target: posix.resolve(workdir, copy.dest, intoDir && !isDir ? posix.basename(source) : '.') };
  });
}

const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseStages(dockerfileText);
const stage = (name: string): Stage => stages.find((s) => s.name === name)!;
const runtime = stages[stages.length - 1];
const runtimeWorkdir = workdirOf(inherited(stages, runtime));
const dockerignore = ignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n'));
const isIgnored = (relPath: string): boolean => dockerignore.ignores(relPath);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

const npmCiRuns = (s: Stage): Instruction[] => ofKind(s.instructions, 'RUN').filter((i) => /\bnpm\s+ci\b/.test(command(i)));

/** Where the runtime stage's `containerPath` was copied from: a stage (or the context) and the path there. */
function provenance(containerPath: string): { from?: string; path: string } | undefined {
  for (const copy of ofKind(runtime.instructions, 'COPY').map(copyArgs).reverse()) {
    for (const { source, target } of landing(copy, runtimeWorkdir)) {
      if (containerPath === target || containerPath.startsWith(`${target}/`)) {
        const origin = copy.from !== undefined ? posix.resolve(runtimeWorkdir, source) : source;
        return { from: copy.from, path: origin + containerPath.slice(target.length) };
      }
    }
  }
  return undefined;
}

/** Replays a stage (and the stages it is built FROM) under fsRoot: WORKDIR, COPY from the context, RUN. Returns its WORKDIR. */
function replayStage(s: Stage, fsRoot: string): string {
  const parent = stages.find((p) => p.name === s.base);
  let workdir = parent ? replayStage(parent, fsRoot) : '/';
  const host = (containerPath: string): string => join(fsRoot, containerPath);
  for (const instruction of s.instructions) {
    const where = `Dockerfile:${lineOf(instruction)}`;
    switch (instruction.getKeyword()) {
      case 'WORKDIR':
        workdir = posix.resolve(workdir, instruction.getArgumentsContent() ?? '');
        mkdirSync(host(workdir), { recursive: true });
        break;
      case 'COPY': {
        const copy = copyArgs(instruction);
        if (copy.from !== undefined) throw new Error(`${where}: the replayed stage copies from ${copy.from}`);
        for (const { source, target } of landing(copy, workdir)) {
          if (isIgnored(source)) throw new Error(`${where}: ${source} is excluded by .dockerignore, so COPY would fail`);
          cpSync(join(ROOT, source), host(target), { recursive: true, filter: (src) => !isIgnored(relative(ROOT, src).split('\\').join('/')) });
        }
        break;
      }
      case 'RUN': {
        const cwd = host(workdir);
        const run = command(instruction);
        if (/\bnpm\s+(ci|install)\b/.test(run)) {
          if (!/^npm\s+ci(\s+--[\w=-]+)*$/.test(run.trim())) {
            throw new Error(`${where}: cannot replay "${run}"; keep the build stage's npm ci on a RUN of its own`);
          }
          // npm ci refuses to run without both, and the lockfile is what pins the image's deps.
          expect(existsSync(join(cwd, 'package.json'))).toBe(true);
          expect(existsSync(join(cwd, 'package-lock.json'))).toBe(true);
          symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'), 'dir');
        } else {
          const result = spawnSync(run, { cwd, shell: '/bin/sh', encoding: 'utf8', timeout: 150_000 });
          if (result.status !== 0) throw new Error(`${where}: RUN ${run} failed:\n${result.stdout}${result.stderr}${result.error?.message ?? ''}`);
        }
        break;
      }
      case 'ENV':
      case 'ARG':
      case 'LABEL':
        break;
      default:
        throw new Error(`${where}: the build stage replay does not know ${instruction.getKeyword()}`);
    }
  }
  return workdir;
}

/** The compiled .js files under dir. */
const compiled = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));

describe('Dockerfile', () => {
  it('has a build stage, a production-deps stage and a default runtime stage on node:20-bookworm-slim', () => {
    expect(stages.map((s) => s.name)).toEqual(expect.arrayContaining(['build', 'runtime']));
    expect(runtime.name).toBe('runtime');
    expect(rootImage(stages, runtime)).toBe('node:20-bookworm-slim');
    expect(rootImage(stages, stage('build'))).toBe('node:20-bookworm-slim');
  });

  it.each(TFJS_VARIANTS)('builds a runtime on a pinned base image with TFJS=%s', (tfjs) => {
    const variant = parseStages(dockerfileText, { TFJS: tfjs });
    const root = rootImage(variant, variant[variant.length - 1]);
    // An unknown stage name would be pulled as an image and fail at build time.
    expect(variant.find((s) => s.name === root)).toBeUndefined();
    expect(root).toMatch(/^[\w./-]+:[\w.-]+$/);
    expect(root).not.toMatch(/:latest$/);
    if (tfjs === 'gpu') expect(root).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime/);
    else expect(root).toBe('node:20-bookworm-slim');
    // The shell script behind TFJS must know every variant the stages offer.
    expect(dockerfileText).toMatch(new RegExp(`^\\s*${tfjs}\\)`, 'm'));
  });

  it('pins every base image and copies --from earlier stages only', () => {
    stages.forEach((s, index) => {
      const earlier = stages.slice(0, index).map((e) => e.name);
      if (!earlier.includes(s.base)) expect(s.base).toMatch(/^[\w./-]+:[\w.-]+$/);
      for (const instruction of ofKind(s.instructions, 'COPY')) {
        const { from } = copyArgs(instruction);
        const line = lineOf(instruction);
        if (from !== undefined) expect({ line, from, earlier: earlier.includes(from) }).toEqual({ line, from, earlier: true });
      }
    });
  });

  it('copies only paths that exist in the repository and that .dockerignore sends', () => {
    const problems: string[] = [];
    for (const instruction of stages.flatMap((s) => ofKind(s.instructions, 'COPY', 'ADD'))) {
      const line = lineOf(instruction);
      if (instruction.getKeyword() === 'ADD') problems.push(`line ${line}: use COPY, not ADD`);
      const copy = copyArgs(instruction);
      if (copy.from !== undefined) continue;
      for (const source of copy.sources) {
        if (/[*?[]/.test(source)) problems.push(`line ${line}: glob ${source} is not checked; name the paths`);
        else if (!existsSync(join(ROOT, source))) problems.push(`line ${line}: ${source} does not exist`);
        else if (isIgnored(source)) problems.push(`line ${line}: ${source} is excluded by .dockerignore`);
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
    const stagesWithCi = stages.filter((s) => npmCiRuns(s).length > 0);
    expect(stagesWithCi.length).toBeGreaterThanOrEqual(2);
    for (const s of stagesWithCi) {
      const firstCi = npmCiRuns(s)[0];
      const workdir = workdirOf(inherited(stages, s));
      const copied = ofKind(s.instructions, 'COPY')
        .filter((i) => lineOf(i) < lineOf(firstCi))
        .map(copyArgs)
        .filter((c) => c.from === undefined)
        .flatMap((c) => landing(c, workdir));
      for (const input of ['package.json', 'package-lock.json']) {
        expect(existsSync(join(ROOT, input))).toBe(true);
        const inWorkdir = copied.some((c) => c.source === input && c.target === posix.join(workdir, input));
        expect({ stage: s.name, input, copied: inWorkdir }).toEqual({ stage: s.name, input, copied: true });
      }
    }
    // npm ci aborts when package.json and the lockfile disagree about the direct dependencies.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<string, Pick<typeof pkg, 'dependencies' | 'devDependencies' | 'optionalDependencies'>>;
    };
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    const rootEntry = lock.packages[''];
    expect(rootEntry.dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(rootEntry.devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    expect(rootEntry.optionalDependencies ?? {}).toEqual(pkg.optionalDependencies ?? {});
  });

  it('names only package.json scripts in `npm run`', () => {
    const commands = stages.flatMap((s) => ofKind(s.instructions, 'RUN', 'CMD', 'ENTRYPOINT')).map(command);
    const used = commands.flatMap((c) => [...c.matchAll(/\bnpm\s+run(?:-script)?\s+([\w:.-]+)/g)].map((m) => m[1]));
    expect(used).toContain('build');
    expect(used.filter((script) => !(script in pkg.scripts))).toEqual([]);
  });

  it('runs as a non-root user with production dependencies only', () => {
    const userInstruction = ofKind(inherited(stages, runtime), 'USER').pop();
    const user = userInstruction?.getArgumentsContent()?.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);

    const nodeModules = provenance(posix.join(runtimeWorkdir, 'node_modules'));
    expect(nodeModules?.from).toBeDefined();
    const depsStage = stage(nodeModules!.from!);
    expect(depsStage).toBeDefined();
    const ci = npmCiRuns(depsStage).map(command);
    expect(ci).toHaveLength(1);
    expect(ci[0]).toMatch(/npm\s+ci\b[^&;|]*--omit=dev/);

    const cmd = ofKind(inherited(stages, runtime), 'CMD').pop();
    expect(cmd && words(cmd)).toEqual(pkg.scripts['start:api'].trim().split(/\s+/));
  });

  describe('build stage replayed as plain commands', () => {
    let fsRoot: string;

    beforeAll(() => {
      fsRoot = mkdtempSync(join(tmpdir(), 'bulwark-docker-'));
      replayStage(stage('build'), fsRoot);
    }, 170_000);

    afterAll(() => {
      if (fsRoot) rmSync(fsRoot, { recursive: true, force: true });
    });

    /** The replayed build stage's file that the runtime stage has at runtimePath. */
    function builtPath(runtimePath: string): string {
      const origin = provenance(runtimePath);
      if (origin === undefined) throw new Error(`nothing in the runtime stage provides ${runtimePath}`);
      if (origin.from !== 'build') throw new Error(`${runtimePath} comes from ${origin.from ?? 'the context'}, not the build stage`);
      return join(fsRoot, origin.path);
    }
    const dist = (): string => builtPath(posix.join(runtimeWorkdir, 'dist'));

    it('produces everything the runtime stage copies from it', () => {
      const fromBuild = ofKind(runtime.instructions, 'COPY')
        .map(copyArgs)
        .filter((c) => c.from === 'build');
      expect(fromBuild.length).toBeGreaterThan(0);
      for (const source of fromBuild.flatMap((c) => c.sources)) {
        expect({ source, exists: existsSync(join(fsRoot, source)) }).toEqual({ source, exists: true });
      }
    });

    it('produces the file of every node command the image is started with', () => {
      // Its CMD and the start scripts (compose.spec.ts holds docker-compose.yml's commands to these).
      const cmd = ofKind(inherited(stages, runtime), 'CMD').pop();
      const points = [
        ...(cmd ? [{ origin: 'Dockerfile CMD', argv: words(cmd) }] : []),
        ...['start:api', 'start:worker', 'migrate'].map((s) => ({ origin: `npm run ${s}`, argv: pkg.scripts[s].trim().split(/\s+/) })),
      ];
      expect(points.map((p) => p.origin)).toEqual(expect.arrayContaining(['Dockerfile CMD', 'npm run start:api', 'npm run start:worker', 'npm run migrate']));
      for (const { origin, argv } of points) {
        expect({ origin, binary: argv[0] }).toEqual({ origin, binary: 'node' });
        const script = posix.resolve(runtimeWorkdir, argv[1]);
        expect({ origin, script, exists: existsSync(builtPath(script)) }).toEqual({ origin, script, exists: true });
      }
    });

    it('compiles every app and lib file the repository build compiles (processors the worker loads by path too)', () => {
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
      expect(sources.filter((f) => !existsSync(join(dist(), f.replace(/\.ts$/, '.js'))))).toEqual([]);
    });

    it('requires only production dependencies from compiled code (the image has no devDependencies)', () => {
      const allowed = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]);
      const offenders = new Set<string>();
      for (const path of compiled(dist())) {
        for (const m of readFileSync(path, 'utf8').matchAll(/require\(["']([^"'./][^"']*)["']\)/g)) {
          const specifier = m[1];
          if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) continue;
          const name = specifier
            .split('/')
            .slice(0, specifier.startsWith('@') ? 2 : 1)
            .join('/');
          if (!allowed.has(name)) offenders.add(`${relative(dist(), path)}: ${name}`);
        }
      }
      expect([...offenders]).toEqual([]);
    });

    it.each(['start:api', 'start:worker', 'migrate'])(
      'loads the compiled `npm run %s` entry point and fails fast, naming DATABASE_URL, when it is unset',
      (script) => {
        const [node, file] = pkg.scripts[script].trim().split(/\s+/);
        const run = spawnSync(node, [builtPath(posix.resolve(runtimeWorkdir, file))], {
          cwd: join(fsRoot, runtimeWorkdir),
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
      const offenders = compiled(dist()).filter((path) => /require\(["']@bulwark\//.test(readFileSync(path, 'utf8')));
      expect(offenders.map((path) => relative(dist(), path))).toEqual([]);
    });
  });
});
