import { ArgumentMetadata, BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import type { ZodDto } from 'nestjs-zod';
import type { z } from 'zod';
import { parseWithMessages } from '@bulwark/spec';

/**
 * Validates every body and query typed with a DTO made by createZodDto against its
 * @bulwark/spec schema: unknown fields refused, a 400 listing each problem in the API's
 * wording (the field first), the parsed value handed on. Other parameters pass untouched.
 */
@Injectable()
export class ZodRequestPipe implements PipeTransform {
  transform(value: unknown, { metatype }: ArgumentMetadata): unknown {
    const dto = metatype as Partial<ZodDto> | undefined;
    if (!dto?.isZodDto || !dto.schema) return value;
    const parsed = parseWithMessages(dto.schema as z.ZodType, value);
    if (!parsed.ok) throw new BadRequestException(parsed.errors);
    return parsed.value;
  }
}
