import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, ValidateBy, ValidationArguments } from 'class-validator';
import { DETECTOR_KINDS, DetectorKind, MAX_PREDICT_INPUTS } from '@bulwark/queue';

/**
 * The first thing wrong with a batch of flattened images, naming its position
 * ("inputs.3.117 must be a number in [0, 1]"), or null. One plain loop: a batch holds up to
 * 64 × 3072 numbers, too many for a decorator per element.
 */
export function pixelRowsProblem(value: unknown, property: string): string | null {
  if (!Array.isArray(value)) return null;
  for (const [i, row] of value.entries()) {
    if (!Array.isArray(row)) return `${property}.${i} must be an array of numbers (a flattened image)`;
    for (const [j, v] of row.entries()) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) return `${property}.${i}.${j} must be a number in [0, 1], got ${JSON.stringify(v)?.slice(0, 32)}`;
    }
  }
  return null;
}

function IsPixelRows() {
  return ValidateBy({
    name: 'isPixelRows',
    validator: {
      validate: (value: unknown, args?: ValidationArguments) => pixelRowsProblem(value, args?.property ?? 'inputs') === null,
      defaultMessage: (args?: ValidationArguments) => pixelRowsProblem(args?.value, args?.property ?? 'inputs') ?? 'inputs must be flattened images',
    },
  });
}

/** Body of POST /evaluations/:id/predict. */
export class PredictDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 } },
    maxItems: MAX_PREDICT_INPUTS,
    description: `1..${MAX_PREDICT_INPUTS} images of the evaluated dataset, each flattened to H·W·C numbers in [0,1] (row-major, channels last: 784 for MNIST)`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PREDICT_INPUTS)
  @IsPixelRows()
  inputs: number[][];

  @ApiPropertyOptional({ enum: DETECTOR_KINDS, description: 'Which of the evaluation\'s detectors guards the stack (default its first)' })
  @IsOptional()
  @IsIn(DETECTOR_KINDS)
  detector?: DetectorKind;
}
