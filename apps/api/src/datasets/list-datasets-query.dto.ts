import { createZodDto } from 'nestjs-zod';
import { listDatasetsQuerySchema } from '@bulwark/spec';

/** Query of GET /datasets (see listDatasetsQuerySchema). */
export class ListDatasetsQueryDto extends createZodDto(listDatasetsQuerySchema) {}
