/**
 * Errors of the config layer. Every class carries a stable `code`; docs/config.md lists them all.
 * Messages never contain secret values (client or trunk passwords, CONFIG_TOKEN).
 */

export type ConfigErrorCode =
  | 'DPBX_ERR_CONFIG_INVALID'
  | 'DPBX_ERR_CONFIG_LOAD'
  | 'DPBX_ERR_CONFIG_OPTIONS'
  | 'DPBX_ERR_CONFIG_CLOSED';

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  override readonly cause?: unknown;

  constructor(code: ConfigErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    if (cause !== undefined) this.cause = cause;
  }
}

/** One problem found by the validator: `path` names the offending field, e.g. `domains["a.com"].clients[1].username`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** The config does not have the documented shape; `issues` lists every problem with its path. */
export class ConfigValidationError extends ConfigError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const head = issues
      .slice(0, 10)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    const more = issues.length > 10 ? ` (and ${issues.length - 10} more)` : '';
    super('DPBX_ERR_CONFIG_INVALID', `invalid config: ${head}${more}`);
    this.name = 'ConfigValidationError';
    this.issues = issues;
  }
}
