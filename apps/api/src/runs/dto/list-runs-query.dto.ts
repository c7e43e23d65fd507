import { createZodDto } from 'nestjs-zod';
import { listRunsQuerySchema } from '@bulwark/spec';

/** Query of GET /runs (see listRunsQuerySchema). */
export class ListRunsQueryDto extends createZodDto(listRunsQuerySchema) {}
