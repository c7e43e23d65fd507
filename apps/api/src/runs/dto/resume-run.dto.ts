import { createZodDto } from 'nestjs-zod';
import { resumeRunRequestSchema } from '@bulwark/spec';

/** Body of POST /runs/resume (see resumeRunRequestSchema). */
export class ResumeRunDto extends createZodDto(resumeRunRequestSchema) {}
