import { createZodDto } from 'nestjs-zod';
import { importModelRequestSchema } from '@bulwark/spec';

/** Body of POST /models/import (see importModelRequestSchema). */
export class ImportModelDto extends createZodDto(importModelRequestSchema) {}
