/** Injection token for the validated WorkerConfig (see @bulwark/config). */
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Injection token for the BackendInfo the worker probed at boot (what its job processes select). */
export const WORKER_BACKEND = Symbol('WORKER_BACKEND');
