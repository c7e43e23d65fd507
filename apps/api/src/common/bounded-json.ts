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
 * bytes (brackets inside strings skipped) before JSON.parse or any schema walks the value:
 * those bytes never occur inside a multi-byte UTF-8 character, so no decoding is needed.
 */
export function nestsDeeperThan(text: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
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

/**
 * Every body is UTF-8 JSON: anything else would reach the handlers as an empty body (and, for
 * a text/plain POST, as a request a browser sends cross-origin without asking). Registered
 * before the parsers, for every route.
 */
export function requireJsonBodies(req: Request, _res: Response, next: NextFunction): void {
  next(hasBody(req) ? contentTypeProblem(req.headers['content-type'] ?? '') : undefined);
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

/**
 * express.json with the limits every body is held to: at most `limit` bytes (a Content-Length
 * over it is refused before a byte is read), nesting at most MAX_JSON_DEPTH deep (checked on
 * the raw bytes, before parsing), and no prototype key at any depth (checked on the parsed value,
 * before validation, which would drop some of them silently).
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
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- express's Request is the IncomingMessage body-parser reads.
    parse(req, res, (err?: unknown) => {
      // A body another parser already read (a route with its own limit) is checked again: cheap, and never skipped.
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
