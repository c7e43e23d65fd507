import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { json, raw } from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { MAX_JSON_DEPTH, PROTOTYPE_KEYS } from '@bulwark/spec';
import { nestsDeeperThan, prototypeKeyPath, type JsonBodyOutcome } from './json-body';
import { JsonParseThread } from './json-parse-thread';

/** An error body-parser hands on as it is (its status kept), which BodyParserErrorFilter words for the client. */
class TooDeepError extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';
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

/** Bodies declared at least this large are parsed on the parsing thread, off the event loop. */
export const OFF_THREAD_MIN_BYTES = 256 * 1024;

/** One for the process: large bodies are rare, and one thread parses them one after another. */
const parseThread = new JsonParseThread();

/** How a parse that body-parser did not do fails: the same status, type and wording as when it does. */
function bodyError(outcome: Exclude<JsonBodyOutcome, { ok: true }>): Error {
  if (outcome.problem === 'prototype-key') return prototypeKeyError(outcome.path);
  if (outcome.problem === 'too-deep') return new TooDeepError(outcome.message);
  return Object.assign(new SyntaxError(outcome.message), { status: 400, type: 'entity.parse.failed' });
}

function prototypeKeyError(path: string): BadRequestException {
  const key = path.slice(path.lastIndexOf('.') + 1);
  return new BadRequestException([`${path.slice(0, path.length - key.length)}property ${key} should not exist (a prototype key)`]);
}

/**
 * express.json with the limits every body is held to: at most `limit` bytes, nesting at most
 * MAX_JSON_DEPTH deep (checked on the raw bytes, before parsing), and no prototype key at any
 * depth (checked on the parsed value, before validation, which would drop some of them
 * silently). A Content-Length over the limit is answered 413 at once, the connection closed
 * without reading the body: body-parser would read (and discard) all of it before answering,
 * so a client that declares a gigabyte and sends nothing would hold its request open. A body
 * declared OFF_THREAD_MIN_BYTES or more is read as bytes and parsed on the parsing thread.
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
  const read = raw({ limit, type: () => true });
  return (req, res, next) => {
    if (taken.has(req)) {
      next();
      return;
    }
    taken.add(req);
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      res.setHeader('Connection', 'close');
      next(new BodyTooLargeError(limit));
      return;
    }
    // A body that does not inflate comes with zlib's error and no type: say which header it broke.
    const inflateProblem = (err: unknown) =>
      err instanceof Error && !('type' in err) && req.headers['content-encoding'] !== undefined
        ? new BadRequestException([`body is not valid ${req.headers['content-encoding'].slice(0, 32)} data (Content-Encoding)`])
        : undefined;
    if (declared >= OFF_THREAD_MIN_BYTES) {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- express's Request is the IncomingMessage body-parser reads.
      read(req, res, (err?: unknown) => {
        if (err !== undefined) {
          next(inflateProblem(err) ?? err);
          return;
        }
        const bytes = req.body as unknown;
        if (!Buffer.isBuffer(bytes)) {
          next();
          return;
        }
        parseThread.parse(bytes, MAX_JSON_DEPTH, PROTOTYPE_KEYS).then((outcome) => {
          if (!outcome.ok) {
            next(bodyError(outcome));
            return;
          }
          req.body = outcome.value;
          next();
        }, next);
      });
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- express's Request is the IncomingMessage body-parser reads.
    parse(req, res, (err?: unknown) => {
      const inflate = inflateProblem(err);
      if (inflate) {
        next(inflate);
        return;
      }
      const path = err === undefined ? prototypeKeyPath(req.body, PROTOTYPE_KEYS) : null;
      next(path === null ? err : prototypeKeyError(path));
    });
  };
}
