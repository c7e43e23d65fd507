import type { NextFunction, Request, Response } from 'express';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Every request body is JSON, and a write that says it carries anything else is refused with 415
 * before any route runs. A page on another origin can send a `text/plain` or form POST without a
 * CORS preflight; refusing those types means such a request cannot act even if it could authenticate.
 */
export function jsonOnly(req: Request, res: Response, next: NextFunction): void {
  if (!WITH_BODY.has(req.method)) {
    next();
    return;
  }
  const contentType = req.headers['content-type'];
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if ((contentType !== undefined || hasBody) && !req.is('application/json')) {
    res.status(415).json({
      statusCode: 415,
      message: [`Content-Type must be application/json (got ${contentType === undefined ? 'none' : JSON.stringify(contentType.slice(0, 100))})`],
      error: 'Unsupported Media Type',
    });
    return;
  }
  next();
}
