/** Injection token for the validated ApiConfig (see @bulwark/config). */
export const API_CONFIG = Symbol('API_CONFIG');
