/** Stored with every evaluation, so a result says which attack implementations produced it. */
export const ATTACKS_VERSION = '0.1.0';
