export * from './env-schema';
export * from './load-config';
export * from './connectivity';
export * from './close-on-signals';
