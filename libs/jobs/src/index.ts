export * from './run-spec';
export * from './queues';
export * from './redis-connection';
