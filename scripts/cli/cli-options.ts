import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad usage: a missing or malformed flag, an unknown command. The CLI prints it with the usage and exits 2. */
export class UsageError extends Error {}

export const EXIT_OK = 0;
/** The API refused, a followed run failed or was cancelled, a file could not be written. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface Connection {
  apiUrl: string;
  apiKey: string;
}

type FlagType = 'string' | 'number' | 'list' | 'numbers' | 'boolean';
interface FlagSpec {
  type: FlagType;
  /** Where the value goes in the request body ('attack.epsilon'); absent: the command reads it itself. */
  field?: string;
  help: string;
}

const CONNECTION_FLAGS: Record<string, FlagSpec> = {
  'api-url': { type: 'string', help: 'API address (default $BULWARK_API_URL, else http://127.0.0.1:3000)' },
  'api-key': { type: 'string', help: 'API key (default $BULWARK_API_KEY)' },
  help: { type: 'boolean', help: 'Show this help' },
};

const FOLLOW_FLAGS: Record<string, FlagSpec> = {
  follow: { type: 'boolean', help: 'Wait for the run to end, with a progress bar; exit 1 unless it succeeds' },
  'idempotency-key': { type: 'string', help: 'Submitting again with the same key returns the same run' },
  file: { type: 'string', help: 'JSON body to submit (the flags override its fields)' },
};

interface CommandSpec {
  usage: string;
  summary: string;
  /** Positional arguments, in order, all required. */
  positionals: string[];
  flags: Record<string, FlagSpec>;
}

export const COMMANDS = {
  run: {
    usage: 'bulwark run [--file spec.json] [--kind K --dataset D --model M --epochs N ...] [--follow]',
    summary: 'Submit a training, adversarial-training or distillation run (POST /runs)',
    positionals: [],
    flags: {
      ...FOLLOW_FLAGS,
      kind: { type: 'string', field: 'kind', help: 'train | adversarial-training | distillation' },
      dataset: { type: 'string', field: 'dataset', help: 'mnist | fashion-mnist | cifar10 (or an uploaded dataset where supported)' },
      model: { type: 'string', field: 'model', help: 'mlp | cnn-small | cnn-wong | cnn-madry | lenet5 | resnet-small | imported' },
      attack: { type: 'string', field: 'attack.name', help: 'Attack measured after each epoch (and trained against): fgsm | pgd' },
      epsilon: { type: 'number', field: 'attack.epsilon', help: "The attack's ε in [0,1] input space" },
      method: { type: 'string', field: 'method.name', help: 'adversarial-training: fgsm | fgsm-rs | pgd | trades | free' },
      epochs: { type: 'number', field: 'epochs', help: 'Epochs' },
      'batch-size': { type: 'number', field: 'batchSize', help: 'Batch size' },
      seed: { type: 'number', field: 'seed', help: 'Seed (data split, initialisation, attacks)' },
      'learning-rate': { type: 'number', field: 'learningRate', help: 'Learning rate' },
      'test-fraction': { type: 'number', field: 'testFraction', help: 'Fraction held out as the test split' },
      temperature: { type: 'number', field: 'temperature', help: 'Distillation temperature' },
      'from-checkpoint': { type: 'string', field: 'fromCheckpoint', help: 'Fine-tune from this checkpoint id' },
      'teacher-checkpoint': { type: 'string', field: 'teacherCheckpoint', help: 'distillation: the teacher checkpoint id' },
    },
  },
  evaluate: {
    usage: 'bulwark evaluate [--file body.json] [--run ID --epsilons 0,0.1,0.3 --suite quick ...] [--follow]',
    summary: "Evaluate a run's checkpoint against an attack suite (POST /evaluations)",
    positionals: [],
    flags: {
      ...FOLLOW_FLAGS,
      run: { type: 'string', field: 'runId', help: 'The run whose checkpoint is evaluated' },
      'checkpoint-epoch': { type: 'number', field: 'checkpointEpoch', help: "Epoch of the checkpoint (default the run's newest)" },
      epsilons: { type: 'numbers', field: 'epsilons', help: 'Comma-separated radii, e.g. 0,0.1,0.3' },
      norm: { type: 'string', field: 'norm', help: 'linf | l2' },
      suite: { type: 'string', field: 'suite', help: 'quick | standard | custom' },
      attacks: { type: 'list', field: 'attacks', help: 'suite custom: comma-separated attacks' },
      examples: { type: 'number', field: 'examples', help: 'n: the seeded subset of the test split measured' },
      seed: { type: 'number', field: 'seed', help: 'Seed of the subset and the attacks' },
      gallery: { type: 'number', field: 'galleryPerEpsilon', help: 'Adversarial examples stored per ε' },
    },
  },
  follow: {
    usage: 'bulwark follow RUN_ID',
    summary: 'Follow a run or evaluation to its end with a progress bar; exit 1 unless it succeeds',
    positionals: ['RUN_ID'],
    flags: {},
  },
  list: {
    usage: 'bulwark list [--status S] [--kind K] [--limit N]',
    summary: 'List runs and evaluations, newest first',
    positionals: [],
    flags: {
      status: { type: 'string', help: 'queued | running | succeeded | failed | cancelled' },
      kind: { type: 'string', help: 'train | adversarial-training | distillation | evaluation | import' },
      limit: { type: 'number', help: 'At most this many (1-200, default 20)' },
    },
  },
  cancel: {
    usage: 'bulwark cancel RUN_ID',
    summary: 'Cancel a queued or running run or evaluation',
    positionals: ['RUN_ID'],
    flags: {},
  },
  export: {
    usage: 'bulwark export RUN_ID [--epoch N | --checkpoint ID] [--out FILE]',
    summary: "Download a checkpoint's model as a TensorFlow.js model directory in a .tar.gz (model.json + weights.bin)",
    positionals: ['RUN_ID'],
    flags: {
      epoch: { type: 'number', help: "The checkpoint of this epoch (default the run's newest)" },
      checkpoint: { type: 'string', help: 'The checkpoint with this id' },
      out: { type: 'string', help: 'File to write (default run-<id>-epoch-<n>.tar.gz here)' },
    },
  },
  curve: {
    usage: 'bulwark curve EVALUATION_ID [--view adaptive]',
    summary: "Print an evaluation's robustness curve as a table: accuracy per attack and the worst case, per ε, with n",
    positionals: ['EVALUATION_ID'],
    flags: {
      view: { type: 'string', help: 'direct (default; for a defense: naive) | adaptive' },
    },
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  command: CommandName;
  positionals: string[];
  /** Flags as given, converted to their types. */
  flags: Partial<Record<string, FlagValue>>;
  /** The request body, for run and evaluate: --file's JSON with the field flags set on it. */
  body?: Record<string, unknown>;
  connection: Connection;
}

export type FlagValue = string | number | boolean | string[] | number[];

export type ParseResult = { help: string } | ParsedCommand;

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const commands = Object.entries(COMMANDS).map(([name, spec]) => `  ${name.padEnd(width)}  ${spec.summary}`);
  return [
    'Usage: bulwark <command> [flags]   (bulwark <command> --help for its flags)',
    '',
    'Commands:',
    ...commands,
    '',
    'Every command takes --api-url (or $BULWARK_API_URL) and --api-key (or $BULWARK_API_KEY).',
    'Exit codes: 0 done, 1 the API refused or the followed run did not succeed, 2 bad usage.',
  ].join('\n');
}

export function commandUsage(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const flags = { ...spec.flags, ...CONNECTION_FLAGS };
  const width = Math.max(...Object.entries(flags).map(([flag, f]) => flagLabel(flag, f).length));
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Flags:',
    ...Object.entries(flags).map(([flag, f]) => `  ${flagLabel(flag, f).padEnd(width)}  ${f.help}`),
  ].join('\n');
}

function flagLabel(flag: string, spec: FlagSpec): string {
  const value = { string: ' TEXT', number: ' N', list: ' A,B', numbers: ' X,Y', boolean: '' }[spec.type];
  return `--${flag}${value}`;
}

/**
 * The command line as a command to run. `env` gives the connection's defaults; `readFile` reads
 * --file (injected for tests). Throws UsageError naming the flag at fault.
 */
export function parseCommandLine(
  argv: string[],
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): ParseResult {
  if (argv.length === 0) return { help: usage() };
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') return { help: usage() };
  if (!Object.hasOwn(COMMANDS, name)) throw new UsageError(`unknown command "${name}"`);
  const command = name as CommandName;
  const spec: CommandSpec = COMMANDS[command];
  const flagSpecs = { ...spec.flags, ...CONNECTION_FLAGS };

  let parsed: ReturnType<typeof parseArgs<ParseArgsConfig>>;
  try {
    parsed = parseArgs<ParseArgsConfig>({
      args: rest,
      options: Object.fromEntries(Object.entries(flagSpecs).map(([flag, f]) => [flag, { type: f.type === 'boolean' ? 'boolean' : 'string' }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    // node:util names the flag ("Unknown option '--epoch'", "Option '--seed <value>' argument missing").
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) return { help: commandUsage(command) };

  if (parsed.positionals.length !== spec.positionals.length) {
    const expected = spec.positionals.length ? spec.positionals.join(' ') : 'no positional arguments';
    throw new UsageError(`${command} takes ${expected}, got ${parsed.positionals.length ? parsed.positionals.map((p) => `"${p}"`).join(' ') : 'none'}`);
  }

  const flags: ParsedCommand['flags'] = {};
  for (const [flag, raw] of Object.entries(parsed.values)) {
    // Absent flags are undefined; no flag is declared `multiple`, so none is an array.
    if (typeof raw !== 'string' && typeof raw !== 'boolean') continue;
    flags[flag] = convert(flag, flagSpecs[flag].type, raw);
  }

  const connection = connectionOf(flags, env);
  if (command !== 'run' && command !== 'evaluate') return { command, positionals: parsed.positionals, flags, connection };
  return { command, positionals: parsed.positionals, flags, connection, body: requestBody(spec, flags, readFile) };
}

function convert(flag: string, type: FlagType, raw: string | boolean): FlagValue {
  if (typeof raw === 'boolean') return raw;
  switch (type) {
    case 'number':
      return toNumber(flag, raw);
    case 'numbers':
      return raw.split(',').map((part) => toNumber(flag, part));
    case 'list': {
      const parts = raw.split(',').map((part) => part.trim());
      if (parts.some((part) => part === '')) throw new UsageError(`--${flag} must be a comma-separated list without empty items, got "${raw}"`);
      return parts;
    }
    default:
      if (raw === '') throw new UsageError(`--${flag} must not be empty`);
      return raw;
  }
}

function toNumber(flag: string, raw: string): number {
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
  return value;
}

function connectionOf(flags: ParsedCommand['flags'], env: NodeJS.ProcessEnv): Connection {
  const apiUrl = ((flags['api-url'] as string | undefined) ?? env.BULWARK_API_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  try {
    const url = new URL(apiUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new UsageError(`--api-url (or BULWARK_API_URL) must be an http(s) URL, got "${apiUrl}"`);
  }
  const apiKey = (flags['api-key'] as string | undefined) ?? env.BULWARK_API_KEY;
  if (!apiKey)
    throw new UsageError('no API key: pass --api-key or set BULWARK_API_KEY (an operator creates one with `npm run -s keys -- create --tenant NAME`)');
  return { apiUrl, apiKey };
}

/** --file's JSON object, with every field flag given set at its path (flags win). */
function requestBody(spec: CommandSpec, flags: ParsedCommand['flags'], readFile: (path: string) => string): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  const file = flags.file as string | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      throw new UsageError(`--file ${file} cannot be read: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--file ${file} is not JSON: ${(err as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UsageError(`--file ${file} must hold a JSON object`);
    body = json as Record<string, unknown>;
  }
  for (const [flag, f] of Object.entries(spec.flags)) {
    if (f.field !== undefined && flags[flag] !== undefined) body = setPath(body, f.field.split('.'), flags[flag]);
  }
  if (Object.keys(body).length === 0) throw new UsageError('nothing to submit: give --file or the flags of the request (see --help)');
  return body;
}

function setPath(target: Record<string, unknown>, [head, ...rest]: string[], value: unknown): Record<string, unknown> {
  if (rest.length === 0) return { ...target, [head]: value };
  const inner = target[head];
  const nested = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
  return { ...target, [head]: setPath(nested, rest, value) };
}
