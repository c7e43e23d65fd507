export * from './entities/run.entity';
export * from './entities/metric.entity';
export * from './entities/checkpoint.entity';
export * from './data-source-options';
export * from './run-migrations';
export * from './run-ledger';
