import { createZodDto } from 'nestjs-zod';
import { predictRequestSchema } from '@bulwark/spec';

/** Body of POST /evaluations/:id/predict (see predictRequestSchema). */
export class PredictDto extends createZodDto(predictRequestSchema) {}
