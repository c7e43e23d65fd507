export * from './entities/run.entity';
export * from './entities/metric.entity';
export * from './entities/checkpoint.entity';
export * from './entities/robustness-result.entity';
export * from './entities/adversarial-example.entity';
export * from './data-source-options';
export * from './run-migrations';
export * from './run-ledger';
