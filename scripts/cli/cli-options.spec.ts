import { ParsedCommand, UsageError, parseCommandLine } from './cli-options';

const env = { BULWARK_API_URL: 'http://api.test:3000/', BULWARK_API_KEY: 'bwk_env' };
const files: Record<string, string> = {
  'spec.json': JSON.stringify({ kind: 'adversarial-training', dataset: 'mnist', model: 'mlp', attack: { name: 'pgd', epsilon: 0.3 }, epochs: 5 }),
  'list.json': '[1, 2]',
  'broken.json': '{"kind":',
};
const readFile = (path: string): string => {
  if (!(path in files)) throw new Error(`ENOENT: no such file, open '${path}'`);
  return files[path];
};
const parse = (...argv: string[]) => parseCommandLine(argv, env, readFile) as ParsedCommand;
const usageError = (argv: string[], environment: NodeJS.ProcessEnv = env): string => {
  try {
    parseCommandLine(argv, environment, readFile);
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error(`${argv.join(' ')} parsed`);
};

describe('bulwark command line', () => {
  it('builds a run body from flags, nested fields included', () => {
    const cmd = parse(
      'run',
      '--kind',
      'train',
      '--dataset',
      'mnist',
      '--model',
      'mlp',
      '--epochs',
      '2',
      '--batch-size',
      '64',
      '--attack',
      'fgsm',
      '--epsilon',
      '0.1',
      '--follow',
    );
    expect(cmd.body).toEqual({ kind: 'train', dataset: 'mnist', model: 'mlp', epochs: 2, batchSize: 64, attack: { name: 'fgsm', epsilon: 0.1 } });
    expect(cmd.flags.follow).toBe(true);
    expect(cmd.connection).toEqual({ apiUrl: 'http://api.test:3000', apiKey: 'bwk_env' });
  });

  it('lets flags override the fields of --file, keeping the rest', () => {
    expect(parse('run', '--file', 'spec.json', '--epsilon', '0.1', '--epochs', '1').body).toEqual({
      kind: 'adversarial-training',
      dataset: 'mnist',
      model: 'mlp',
      attack: { name: 'pgd', epsilon: 0.1 },
      epochs: 1,
    });
  });

  it('parses an evaluation with lists', () => {
    const cmd = parse('evaluate', '--run', 'r1', '--epsilons', '0,0.1,0.3', '--suite', 'custom', '--attacks', 'fgsm, pgd', '--examples', '40');
    expect(cmd.body).toEqual({ runId: 'r1', epsilons: [0, 0.1, 0.3], suite: 'custom', attacks: ['fgsm', 'pgd'], examples: 40 });
  });

  it('takes the connection from flags over the environment', () => {
    expect(parse('list', '--api-url', 'https://b.example', '--api-key', 'bwk_flag').connection).toEqual({ apiUrl: 'https://b.example', apiKey: 'bwk_flag' });
    expect(parseCommandLine(['list'], { BULWARK_API_KEY: 'k' }, readFile)).toMatchObject({ connection: { apiUrl: 'http://127.0.0.1:3000' } });
  });

  it('answers --help, for the whole CLI and for a command', () => {
    expect(parseCommandLine([], env)).toEqual({ help: expect.stringContaining('Commands:') });
    expect(parseCommandLine(['export', '--help'], env)).toEqual({ help: expect.stringContaining('--epoch N') });
    // Help needs no key.
    expect(parseCommandLine(['curve', '--help'], {})).toEqual({ help: expect.stringContaining('Usage: bulwark curve') });
  });

  it.each([
    [['launch'], /unknown command "launch"/],
    [['run', '--epochs', 'two', '--kind', 'train'], /--epochs must be a number, got "two"/],
    [['evaluate', '--run', 'r', '--epsilons', '0,,0.1'], /--epsilons must be a number, got ""/],
    [['run', '--epoch', '2'], /'--epoch'/],
    [['run', '--seed'], /'--seed/],
    [['export'], /export takes RUN_ID, got none/],
    [['cancel', 'a', 'b'], /cancel takes RUN_ID, got "a" "b"/],
    [['run'], /nothing to submit: give --file/],
    [['run', '--file', 'missing.json'], /--file missing.json cannot be read: ENOENT/],
    [['run', '--file', 'broken.json'], /--file broken.json is not JSON/],
    [['run', '--file', 'list.json'], /--file list.json must hold a JSON object/],
    [['list', '--api-url', 'ftp://x'], /--api-url \(or BULWARK_API_URL\) must be an http\(s\) URL/],
  ])('refuses %j naming what is wrong', (argv, message) => {
    expect(usageError(argv)).toMatch(message);
  });

  it('refuses to run without a key, saying where one comes from', () => {
    expect(usageError(['list'], { BULWARK_API_URL: 'http://x' })).toMatch(/no API key: pass --api-key or set BULWARK_API_KEY/);
  });
});
