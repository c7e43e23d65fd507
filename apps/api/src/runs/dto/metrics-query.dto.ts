import { createZodDto } from 'nestjs-zod';
import { metricsQuerySchema } from '@bulwark/spec';

/** Query of GET /runs/:id/metrics (see metricsQuerySchema). */
export class MetricsQueryDto extends createZodDto(metricsQuerySchema) {}
