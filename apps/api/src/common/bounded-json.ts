import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { json } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MAX_JSON_DEPTH, PROTOTYPE_KEYS } from '@bulwark/spec';

/** An error body-parser hands on as it is (its status kept), which BodyParserErrorFilter words for the client. */
class TooDeepError extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether UTF-8 JSON text nests arrays and objects deeper than `max`, found in one pass over the
 * bytes before JSON.parse or any schema walks the value. Strings are skipped with Buffer's native
 * search for their closing quote (a base64 upload is one long string); none of the bytes looked
 * for ever occurs inside a multi-byte UTF-8 character, so nothing needs decoding.
 */
export function nestsDeeperThan(text: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (byte === QUOTE) {
      let end = text.indexOf(QUOTE, i + 1);
      while (end !== -1 && escaped(text, end)) end = text.indexOf(QUOTE, end + 1);
      // An unterminated string: JSON.parse refuses the body.
      if (end === -1) return false;
      i = end;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** Whether the byte at `at` is escaped: an odd run of backslashes before it. */
function escaped(text: Buffer, at: number): boolean {
  let start = at;
  while (start > 0 && text[start - 1] === BACKSLASH) start--;
  return (at - start) % 2 === 1;
}

/**
 * The path of the first prototype key (`__proto__`, `constructor`, `prototype`) at any depth
 * of a parsed body, or null. Iterative, so its cost is the size of the value, never the stack.
 */
export function prototypeKeyPath(value: unknown): string | null {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: node, path } = next;
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      node.forEach((item: unknown, i) => {
        if (typeof item === 'object' && item !== null) pending.push({ value: item, path: `${path}${i}.` });
      });
      continue;
    }
    for (const key of Object.keys(node)) {
      if (PROTOTYPE_KEYS.includes(key)) return `${path}${key}`;
      pending.push({ value: (node as Record<string, unknown>)[key], path: `${path}${key}.` });
    }
  }
  return null;
}

/** Whether a request carries a body (body-parser's own test: a transfer encoding, or a length other than 0). */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every body is UTF-8 JSON: anything else would reach the handlers as an empty body (and, for
 * a text/plain POST, as a request a browser sends cross-origin without asking). A write that
 * declares another type is refused even when empty, so a form or text/plain post never acts.
 * Registered before the parsers, for every route.
 */
export function requireJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  const contentType = req.headers['content-type'];
  const declaresType = WRITES.has(req.method) && contentType !== undefined;
  next(hasBody(req) || declaresType ? contentTypeProblem(contentType ?? '') : undefined);
}

function contentTypeProblem(contentType: string): UnsupportedMediaTypeException | undefined {
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    return new UnsupportedMediaTypeException([`Content-Type must be application/json (got ${contentType ? `"${contentType.slice(0, 64)}"` : 'none'})`]);
  }
  const charset = parameters.find((p) => p.startsWith('charset='))?.slice('charset='.length);
  if (charset !== undefined && charset.replace(/"/g, '') !== 'utf-8') {
    return new UnsupportedMediaTypeException([`Content-Type charset must be utf-8 (got "${charset.slice(0, 32)}")`]);
  }
  return undefined;
}

/** The error body-parser gives a body over its limit, so BodyParserErrorFilter words both alike (naming the variable). */
class BodyTooLargeError extends Error {
  readonly status = 413;
  readonly type = 'entity.too.large';
  constructor(readonly limit: number) {
    super(`request entity too large (limit ${limit} bytes)`);
  }
}

/** Requests a bounded parser has taken: the general parser, registered after the per-route ones, leaves them be. */
const taken = new WeakSet<Request>();

/**
 * express.json with the limits every body is held to: at most `limit` bytes, nesting at most
 * MAX_JSON_DEPTH deep (checked on the raw bytes, before parsing), and no prototype key at any
 * depth (checked on the parsed value, before validation, which would drop some of them
 * silently). A Content-Length over the limit is answered 413 at once, the connection closed
 * without reading the body: body-parser would read (and discard) all of it before answering,
 * so a client that declares a gigabyte and sends nothing would hold its request open.
 */
export function boundedJson(limit: number): RequestHandler {
  const parse = json({
    limit,
    verify: (_req, _res, body) => {
      if (nestsDeeperThan(body, MAX_JSON_DEPTH)) {
        throw new TooDeepError(`body nests arrays and objects deeper than the limit of ${MAX_JSON_DEPTH} levels`);
      }
    },
  });
  return (req, res, next) => {
    if (taken.has(req)) {
      next();
      return;
    }
    taken.add(req);
    if (Number(req.headers['content-length']) > limit) {
      res.setHeader('Connection', 'close');
      next(new BodyTooLargeError(limit));
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- express's Request is the IncomingMessage body-parser reads.
    parse(req, res, (err?: unknown) => {
      // A body that does not inflate comes with zlib's error and no type: say which header it broke.
      if (err instanceof Error && !('type' in err) && req.headers['content-encoding'] !== undefined) {
        next(new BadRequestException([`body is not valid ${req.headers['content-encoding'].slice(0, 32)} data (Content-Encoding)`]));
        return;
      }
      const path = err === undefined ? prototypeKeyPath(req.body) : null;
      if (path === null) {
        next(err);
        return;
      }
      const key = path.slice(path.lastIndexOf('.') + 1);
      next(new BadRequestException([`${path.slice(0, path.length - key.length)}property ${key} should not exist (a prototype key)`]));
    });
  };
}
