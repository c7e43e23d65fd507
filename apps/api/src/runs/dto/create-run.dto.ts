import { createZodDto } from 'nestjs-zod';
import { createRunRequestSchema } from '@bulwark/spec';

/** Body of POST /runs (see createRunRequestSchema). */
export class CreateRunDto extends createZodDto(createRunRequestSchema) {}
