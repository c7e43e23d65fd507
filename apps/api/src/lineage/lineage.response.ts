import { ApiProperty } from '@nestjs/swagger';
import { RUN_KINDS, RUN_STATUSES, RunKind, RunStatus } from '@bulwark/spec';

export class LineagePointResponse {
  @ApiProperty()
  epsilon: number;

  @ApiProperty()
  n: number;

  @ApiProperty({ description: 'Clean accuracy' })
  clean: number;

  @ApiProperty({ type: Number, nullable: true, description: 'Worst-case ("suite") robust accuracy' })
  robust: number | null;

  @ApiProperty({ type: Number, nullable: true, description: "The adaptive view's worst case, where the defense hides gradients" })
  adaptiveRobust: number | null;
}

export class LineageEvaluationResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: RUN_STATUSES })
  status: RunStatus;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  checkpointId: string | null;

  @ApiProperty({ type: [LineagePointResponse], description: 'Per ε' })
  points: LineagePointResponse[];
}

export class LineageChildResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: RUN_KINDS })
  kind: RunKind;

  @ApiProperty({ enum: RUN_STATUSES })
  status: RunStatus;
}

export class LineageNodeResponse extends LineageChildResponse {
  @ApiProperty()
  dataset: string;

  @ApiProperty()
  model: string;

  @ApiProperty({
    description: 'Where it came from: an import, the adversarial-training method, distillation or plain training',
    example: 'adversarial training (pgd, ε = 0.1)',
  })
  training: string;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  parentRunId: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  parentCheckpointId: string | null;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty({ type: [LineageEvaluationResponse] })
  evaluations: LineageEvaluationResponse[];
}

export class LineageResponse {
  @ApiProperty({ format: 'uuid' })
  runId: string;

  @ApiProperty({ type: [LineageNodeResponse], description: "The run's ancestors, root first, ending with the run" })
  chain: LineageNodeResponse[];

  @ApiProperty({ type: [LineageChildResponse], description: 'Runs derived directly from this one (evaluations aside), oldest first' })
  children: LineageChildResponse[];
}
