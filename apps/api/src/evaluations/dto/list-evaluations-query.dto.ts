import { createZodDto } from 'nestjs-zod';
import { listEvaluationsQuerySchema } from '@bulwark/spec';

/** Query of GET /evaluations (see listEvaluationsQuerySchema). */
export class ListEvaluationsQueryDto extends createZodDto(listEvaluationsQuerySchema) {}
