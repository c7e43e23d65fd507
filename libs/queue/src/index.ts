export * from './queues';
export * from './layers-model-artifact';
export * from './redis-connection';
export * from './worker-presence';
export * from './run-events';
