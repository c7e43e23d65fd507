import { BadRequestException } from '@nestjs/common';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, when present, is 1-255 printable ASCII characters. */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value !== undefined && !IDEMPOTENCY_KEY.test(value)) {
    throw new BadRequestException(['Idempotency-Key must be 1-255 printable ASCII characters']);
  }
  return value;
}
