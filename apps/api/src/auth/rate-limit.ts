import { ExecutionContext, SetMetadata } from '@nestjs/common';

/** The two per-key budgets: submits start work on the workers, heavy reads move many rows or megabytes. */
export const RATE_LIMIT_CLASSES = ['submits', 'heavy-reads'] as const;
export type RateLimitClass = (typeof RATE_LIMIT_CLASSES)[number];

const RATE_LIMIT_CLASS = 'bulwark:rate-limit-class';

/** Counts the route against one budget of the caller's key; routes without it are not limited. */
export const RateLimit = (limitClass: RateLimitClass) => SetMetadata(RATE_LIMIT_CLASS, limitClass);

export function rateLimitClassOf(context: ExecutionContext): RateLimitClass | undefined {
  return Reflect.getMetadata(RATE_LIMIT_CLASS, context.getHandler()) as RateLimitClass | undefined;
}
