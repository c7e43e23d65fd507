/** Injection token for the validated WorkerConfig (see @bulwark/config). */
export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
