import { z } from 'zod';

/**
 * Zod issues phrased as the API has always phrased validation errors (class-validator's
 * wording): every message starts with the field it is about, so a client can tell which one
 * to fix, and the wording stays what existing clients and tests match on.
 */

type RawIssue = z.core.$ZodRawIssue;
type Path = readonly PropertyKey[];

/** Most messages one answer lists: a batch of images can hold 200,000 bad numbers. */
export const MAX_MESSAGES = 20;

/** `a.0.b`, the way class-validator names a nested field. */
export function fieldPath(path: Path): string {
  return path.map(String).join('.');
}

/** A custom message for a schema or check: `text` after the field's path. */
export function fieldMessage(text: string): { error: (issue: RawIssue) => string } {
  return { error: (issue) => `${fieldPath(issue.path ?? [])} ${text}` };
}

/**
 * A custom message for a string format (UUID, base64): used for a value of the wrong type
 * too, since the format is all the client needs to know; length and range issues keep
 * their standard wording.
 */
export function formatMessage(text: string): { error: (issue: RawIssue) => string | undefined } {
  return {
    error: (issue) => (issue.code === 'invalid_type' || issue.code === 'invalid_format' ? `${fieldPath(issue.path ?? [])} ${text}` : undefined),
  };
}

/** The element of a list of plain values is named as class-validator names it: "each value in epsilons". */
function subject(path: Path): string {
  const last = path[path.length - 1];
  return typeof last === 'number' ? `each value in ${fieldPath(path.slice(0, -1))}` : fieldPath(path);
}

/** The standard wording of one issue; the per-parse error map of `parseWithMessages`. */
export function issueMessage(issue: RawIssue): string {
  const path = issue.path ?? [];
  const name = fieldPath(path);
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.expected === 'object') {
        if (issue.input === undefined || issue.input === null) return `${name || 'body'} should not be null or undefined`;
        return name ? `nested property ${name} must be either object or array` : 'body must be a JSON object';
      }
      return `${subject(path)} ${TYPE_PHRASES[isInteger(issue.inst) ? 'int' : issue.expected] ?? `must be of type ${issue.expected}`}`;
    }
    case 'invalid_value':
      return `${subject(path)} must be one of the following values: ${issue.values.map(String).join(', ')}`;
    case 'invalid_union':
      // A discriminated union names the discriminator's values; the API's own bodies have none, stored specs do.
      return 'options' in issue && Array.isArray(issue.options)
        ? `${subject(path)} must be one of the following values: ${issue.options.map(String).join(', ')}`
        : `${subject(path)} matches none of its allowed shapes`;
    case 'too_small':
      return `${subject(path)} ${tooSmall(issue)}`;
    case 'too_big':
      return `${subject(path)} ${tooBig(issue)}`;
    case 'invalid_format':
      return `${subject(path)} ${FORMAT_PHRASES[issue.format] ?? `must match the ${issue.format} format`}`;
    case 'unrecognized_keys':
      return unknownProperties(path, issue.keys).join('; ');
    case 'not_multiple_of':
      return `${subject(path)} must be a multiple of ${String(issue.divisor)}`;
    default:
      return `${subject(path)} is not valid`;
  }
}

/** An integer schema reports a string as "expected number"; it is still an integer the client must send. */
function isInteger(schema: unknown): boolean {
  return schema instanceof z.ZodNumber && (schema.format?.includes('int') ?? false);
}

const TYPE_PHRASES: Record<string, string> = {
  int: 'must be an integer number',
  number: 'must be a number conforming to the specified constraints',
  string: 'must be a string',
  boolean: 'must be a boolean value',
  array: 'must be an array',
  record: 'must be an object',
};

const FORMAT_PHRASES: Record<string, string> = {
  uuid: 'must be a UUID',
  guid: 'must be a UUID',
  base64: 'must be base64 encoded',
  hex: 'must be a hexadecimal number',
};

function tooSmall(issue: Extract<RawIssue, { code: 'too_small' }>): string {
  const minimum = String(issue.minimum);
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `must contain at least ${minimum} elements`;
    case 'string':
      return `must be longer than or equal to ${minimum} characters`;
    default:
      if (issue.inclusive === false) return Number(issue.minimum) === 0 ? 'must be a positive number' : `must be greater than ${minimum}`;
      return `must not be less than ${minimum}`;
  }
}

function tooBig(issue: Extract<RawIssue, { code: 'too_big' }>): string {
  const maximum = String(issue.maximum);
  switch (issue.origin) {
    case 'array':
    case 'set':
      return `must contain no more than ${maximum} elements`;
    case 'string':
      return `must be shorter than or equal to ${maximum} characters`;
    default:
      return issue.inclusive === false ? `must be less than ${maximum}` : `must not be greater than ${maximum}`;
  }
}

function unknownProperties(path: Path, keys: readonly string[]): string[] {
  const prefix = path.length ? `${fieldPath(path)}.` : '';
  return keys.map((key) => `${prefix}property ${key} should not exist`);
}

/** Each problem once, one unknown property a message, at most MAX_MESSAGES of them (and how many more). */
export function issueMessages(issues: readonly z.core.$ZodIssue[]): string[] {
  const messages = [...new Set(issues.flatMap((issue) => (issue.code === 'unrecognized_keys' ? unknownProperties(issue.path, issue.keys) : [issue.message])))];
  if (messages.length <= MAX_MESSAGES) return messages;
  return [...messages.slice(0, MAX_MESSAGES), `(${messages.length - MAX_MESSAGES} more problems not listed)`];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Parses `input`, answering the value or the problems in the API's wording. */
export function parseWithMessages<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input, { error: issueMessage });
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: issueMessages(result.error.issues) };
}
