import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import { AbstractHttpAdapter, BaseExceptionFilter } from '@nestjs/core';
import type { Response } from 'express';

interface BodyParserError {
  type: string;
  status: number;
  message: string;
  /** For 'entity.too.large': the limit of the parser that refused it. */
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && typeof (err as BodyParserError).type === 'string' && typeof (err as BodyParserError).status === 'number';
}

/**
 * body-parser rejects a request before any route runs; give those rejections the same JSON
 * shape as validation errors, with a message that says what was wrong with the body.
 */
@Catch()
export class BodyParserErrorFilter extends BaseExceptionFilter implements ExceptionFilter {
  constructor(
    httpAdapter: AbstractHttpAdapter,
    /** The configured limits, so a 413 names the variable that sets the one refused. */
    private readonly limits: ReadonlyArray<{ bytes: number; variable: string }>,
  ) {
    super(httpAdapter);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    if (exception instanceof HttpException || !isBodyParserError(exception)) {
      super.catch(exception, host);
      return;
    }
    const res = host.switchToHttp().getResponse<Response>();
    // Predict requests and model uploads have larger limits of their own; every other route has BODY_LIMIT_BYTES.
    const limit = exception.limit ?? this.limits[0]?.bytes;
    const variable = this.limits.find((l) => l.bytes === limit)?.variable;
    const message = exception.type === 'entity.too.large' ? `body exceeds the limit of ${limit} bytes${variable ? ` (${variable})` : ''}` : exception.message;
    res.status(exception.status).json({ statusCode: exception.status, message: [message], error: exception.type });
  }
}
