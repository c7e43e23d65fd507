import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestKeyAt } from '../support/api-keys';
import { startTestCluster, TestCluster } from '../support/cluster';
import { assertBuilt } from '../support/processes';

jest.setTimeout(300_000);

const CLI = join(__dirname, '..', '..', 'dist/scripts/cli/bulwark.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `bulwark` as a user runs it (`npx bulwark` runs this file: package.json's bin), against an API
 * and a worker process, with the address and key from the environment as a user sets them.
 */
describe('the bulwark CLI against a real API and worker', () => {
  let cluster: TestCluster;
  let scratch: string;
  let env: Record<string, string>;

  const cli = (args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env, ...extraEnv }, cwd: scratch }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });

  /** Runs the CLI and expects `code`, showing everything it printed when it exits otherwise. */
  async function expectCli(args: string[], code: number, extraEnv: Record<string, string> = {}): Promise<CliResult> {
    const result = await cli(args, extraEnv);
    if (result.code !== code) throw new Error(`bulwark ${args.join(' ')} exited ${result.code}, not ${code}:\n${result.stdout}\n${result.stderr}`);
    return result;
  }

  beforeAll(async () => {
    assertBuilt();
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\``);
    cluster = await startTestCluster('cli', { CANCEL_POLL_MS: '200' });
    env = { BULWARK_API_URL: cluster.base, BULWARK_API_KEY: cluster.auth.Authorization.replace(/^Bearer /, '') };
    scratch = await mkdtemp(join(tmpdir(), 'bulwark-cli-'));
  });

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
      console.log(`API output:\n${cluster.api.output()}\nworker output:\n${cluster.worker.output()}`);
    }
  });

  it('submits a run from flags and follows it to the end, lists it, exports its model, evaluates it and prints the curve', async () => {
    const submitted = await expectCli(
      ['run', '--kind', 'train', '--dataset', 'mnist', '--model', 'mlp', '--epochs', '1', '--batch-size', '128', '--seed', '8101', '--follow'],
      0,
    );
    const runId = submitted.stdout.trim();
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    // Not a terminal: a line per whole percent or status, ending at 100% and succeeded.
    expect(submitted.stderr).toMatch(/\] +\d+% +(queued|running)/);
    expect(submitted.stderr).toContain('[##############################] 100%  succeeded');
    expect(submitted.stderr.trim().split('\n').pop()).toBe(`train ${runId} succeeded`);

    const listed = await expectCli(['list', '--kind', 'train', '--status', 'succeeded'], 0);
    expect(listed.stdout).toMatch(new RegExp(`^${runId}\\s+train\\s+succeeded\\s+100%\\s+mnist\\s+mlp`, 'm'));

    const exported = await expectCli(['export', runId, '--out', 'model.tar.gz'], 0);
    expect(exported.stdout).toContain(`model.tar.gz: model.json + weights.bin of run ${runId}, epoch 1`);
    const listing = execFileSync('tar', ['-tzf', join(scratch, 'model.tar.gz')], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual([`run-${runId}-epoch-1/model.json`, `run-${runId}-epoch-1/weights.bin`]);

    // The body from a file, the flags on top of it.
    await writeFile(join(scratch, 'evaluation.json'), JSON.stringify({ suite: 'quick', galleryPerEpsilon: 0, params: { pgd: { steps: 5 } }, examples: 1000 }));
    const evaluated = await expectCli(
      ['evaluate', '--file', 'evaluation.json', '--run', runId, '--epsilons', '0,0.1', '--examples', '40', '--seed', '1', '--follow'],
      0,
    );
    const evaluationId = evaluated.stdout.trim();
    expect(evaluated.stderr.trim().split('\n').pop()).toBe(`evaluation ${evaluationId} succeeded`);

    const curve = await expectCli(['curve', evaluationId], 0);
    const [header, rule, ...rows] = curve.stdout.trimEnd().split('\n');
    expect(header.split(/\s+/)).toEqual(['epsilon', 'n', 'clean', 'fgsm', 'pgd', 'worst', 'case']);
    expect(rule).toMatch(/^-+( +-+)+$/);
    expect(rows.map((row) => row.trim().split(/\s+/).slice(0, 2))).toEqual([
      ['0', '40'],
      ['0.1', '40'],
    ]);
    const worst = rows.map((row) => Number(row.trim().split(/\s+/).pop()));
    expect(worst[1]).toBeLessThanOrEqual(worst[0]);
  });

  it('cancels a run, and following it then exits 1 saying it was cancelled', async () => {
    const submitted = await expectCli(
      ['run', '--kind', 'train', '--dataset', 'mnist', '--model', 'cnn-small', '--epochs', '20', '--batch-size', '32', '--seed', '8102'],
      0,
    );
    const runId = submitted.stdout.trim();
    const cancelled = await expectCli(['cancel', runId], 0);
    expect(cancelled.stdout).toMatch(new RegExp(`^${runId} (cancelled|running: cancel requested)`));
    const followed = await expectCli(['follow', runId], 1);
    expect(followed.stderr.trim().split('\n').pop()).toBe(`train ${runId} cancelled`);
    await expectCli(['cancel', runId], 1);
  });

  it('exits 1 with the API message naming the field, 2 for bad usage naming the flag, and sees no other tenant', async () => {
    const refused = await expectCli(
      ['run', '--kind', 'train', '--dataset', 'imagenet', '--model', 'mlp', '--epochs', '1', '--batch-size', '8', '--seed', '1'],
      1,
    );
    expect(refused.stderr).toMatch(/^bulwark run: POST \/runs: HTTP 400 .*dataset/);

    const usage = await expectCli(['run', '--batch-size', 'many'], 2);
    expect(usage.stderr).toContain('--batch-size must be a number, got "many"');
    const noKey = await expectCli(['list'], 2, { BULWARK_API_KEY: '' });
    expect(noKey.stderr).toContain('no API key');
    expect((await expectCli(['--help'], 0)).stdout).toContain('Commands:');

    const { stdout } = await expectCli(['list'], 0);
    const someRun = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s/m.exec(stdout)?.[1];
    expect(someRun).toBeDefined();
    const stranger = { BULWARK_API_KEY: await createTestKeyAt(cluster.env.DATABASE_URL, { tenant: 'cli-stranger' }) };
    const strangers = await expectCli(['list'], 0, stranger);
    expect(strangers.stdout).not.toContain(someRun);
    expect(strangers.stdout).toContain('0 of 0');
    const notFound = await expectCli(['follow', someRun!], 1, stranger);
    expect(notFound.stderr).toMatch(/HTTP 404/);
    await expectCli(['export', someRun!], 1, stranger);
  });
});
