import { ApiProperty } from '@nestjs/swagger';
import { EVALUATION_VIEWS, DetectionResult, EvaluationView } from '@bulwark/spec';
import { RunResponse } from '../runs/run.response';

export class CurvePointResponse {
  @ApiProperty()
  epsilon: number;

  @ApiProperty({ description: 'Examples measured at this ε' })
  n: number;

  @ApiProperty()
  cleanAccuracy: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Robust accuracy per attack, and under "suite": the per-example worst case over all of them',
    example: { fgsm: 0.72, pgd: 0.61, suite: 0.58 },
  })
  robustAccuracy: Partial<Record<string, number>>;
}

/** One (view, ε, attack) row of a robustness curve, counts as measured. */
export class RobustnessResultResponse {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ enum: EVALUATION_VIEWS, description: 'direct (an undefended model), or a defense attacked naive-ly or adaptive-ly' })
  view: EvaluationView;

  @ApiProperty()
  epsilon: number;

  @ApiProperty({ description: 'An attack, or "suite" for the per-example worst case' })
  attack: string;

  @ApiProperty()
  n: number;

  @ApiProperty()
  cleanCorrect: number;

  @ApiProperty({ description: "Correct on the clean input AND on the attack's adversarial input" })
  robustCorrect: number;

  @ApiProperty()
  seconds: number;

  @ApiProperty({ type: 'object', additionalProperties: true, description: "The attack's resolved hyperparameters and per-stage reports" })
  details: Record<string, unknown>;

  @ApiProperty()
  recordedAt: Date;
}

/** A gallery example: uint8 pixels of the clean and the attacked input, base64. */
export class AdversarialExampleResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ enum: EVALUATION_VIEWS })
  view: EvaluationView;

  @ApiProperty()
  epsilon: number;

  @ApiProperty({ description: "Index into the evaluation's seeded subset of the test split" })
  exampleIndex: number;

  @ApiProperty({ type: String, nullable: true, description: 'The attack whose input is stored (the one that broke it), or null if none did' })
  attack: string | null;

  @ApiProperty()
  label: number;

  @ApiProperty()
  cleanPrediction: number;

  @ApiProperty()
  adversarialPrediction: number;

  @ApiProperty({ type: [Number], description: '[H, W, C] of the pixel buffers' })
  shape: number[];

  @ApiProperty()
  linfNorm: number;

  @ApiProperty()
  l2Norm: number;

  @ApiProperty({ format: 'byte' })
  clean: string;

  @ApiProperty({ format: 'byte' })
  adversarial: string;
}

/** How far a sharded evaluation has got: each shard is a job any evaluation worker may take. */
export class ShardCountsResponse {
  @ApiProperty({ description: 'Shards whose results are stored' })
  done: number;

  @ApiProperty({ description: 'Shards planned (every view), fixed by the spec: examples and shardSize' })
  total: number;
}

export class EvaluationSummaryResponse {
  @ApiProperty({ type: RunResponse })
  run: RunResponse;

  @ApiProperty({ type: [CurvePointResponse], description: 'The model as evaluated: the bare model, or a defense as deployed (attacked naively)' })
  curve: CurvePointResponse[];

  @ApiProperty({
    type: [CurvePointResponse],
    nullable: true,
    description: 'For a defense that hides gradients: the same curve under BPDA / EOT / un-squashed logits',
  })
  adaptiveCurve: CurvePointResponse[] | null;

  @ApiProperty({ type: 'array', items: { type: 'object' }, nullable: true, description: 'Validity flags, once the evaluation has succeeded' })
  flags: unknown;

  @ApiProperty({ type: ShardCountsResponse, nullable: true, description: 'Shards done and planned; null until a worker has planned them' })
  shards: ShardCountsResponse | null;
}

export class EvaluationListResponse {
  @ApiProperty({ type: [EvaluationSummaryResponse], description: 'Newest first, at most 200' })
  items: EvaluationSummaryResponse[];
}

export class EvaluationResponse extends EvaluationSummaryResponse {
  @ApiProperty({ type: [RobustnessResultResponse] })
  results: RobustnessResultResponse[];

  @ApiProperty({ type: [AdversarialExampleResponse], description: 'Gallery examples of every view (each says its view)' })
  examples: AdversarialExampleResponse[];

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "With detectors, once succeeded: per detector and ε, detection rates, ROC AUC and the stack's robust accuracy (counts over n)",
  })
  detection: DetectionResult | null;
}
