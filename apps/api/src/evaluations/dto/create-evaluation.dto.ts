import { createZodDto } from 'nestjs-zod';
import { createEvaluationRequestSchema } from '@bulwark/spec';

/** Body of POST /evaluations (see createEvaluationRequestSchema). */
export class CreateEvaluationDto extends createZodDto(createEvaluationRequestSchema) {}
