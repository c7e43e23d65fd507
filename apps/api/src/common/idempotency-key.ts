import { BadRequestException } from '@nestjs/common';
import type { Response } from 'express';
import { IDEMPOTENCY_KEY_PATTERN } from '@bulwark/spec';

/** The Idempotency-Key header, when present, is 1-255 printable ASCII characters. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(value)) {
    throw new BadRequestException(['Idempotency-Key must be 1-255 printable ASCII characters']);
  }
  return value;
}

/** The answer to an idempotent create: the run, marked `Idempotent-Replayed: true` when the key found an existing one. */
export function createdOrReplayed<T>(res: Response, { run, replayed }: { run: T; replayed: boolean }): T {
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  return run;
}
