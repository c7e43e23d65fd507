import { ExecutionContext, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Response } from 'express';
import { rateLimitClassOf } from './rate-limit';

const LIMIT_VARIABLES = { submits: 'RATE_LIMIT_SUBMITS', 'heavy-reads': 'RATE_LIMIT_HEAVY_READS' } as const;

/**
 * @nestjs/throttler's guard, answering 429 with a plain `Retry-After` (its own header is named
 * per throttler, `Retry-After-submits`, which clients do not read) and a message naming the limit.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    context.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(retryAfter));
    const limitClass = rateLimitClassOf(context) ?? 'submits';
    const message =
      `rate limit exceeded: at most ${detail.limit} ${limitClass.replace('-', ' ')} per ${Math.round(detail.ttl / 1000)} s per API key ` +
      `(${LIMIT_VARIABLES[limitClass]}); retry after ${retryAfter} s`;
    return Promise.reject(new HttpException({ statusCode: HttpStatus.TOO_MANY_REQUESTS, message, error: 'Too Many Requests' }, HttpStatus.TOO_MANY_REQUESTS));
  }
}
