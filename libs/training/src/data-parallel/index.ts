export { dataParallelStep, localGradientExchange, type DataParallelStepOptions, type GradientExchange, type ShardedStep } from './gradient-exchange';
export { readModelWeights, writeModelWeights, type ModelWeights } from './model-weights';
export { applyReducedStep, reduceShards, type ReducedStep } from './reduce-shards';
export { computeShardGradient, type CreateTrainingMethod, type ShardOutcome, type ShardTask } from './shard-gradient';
export { shardSeed, splitIntoShards, type ShardRange } from './shard-split';
export { decodeExamples, decodeFloatArrays, encodeExamples, encodeFloatArrays } from './tensor-blob';
