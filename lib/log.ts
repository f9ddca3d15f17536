/**
 * Structured logging: one JSON line per event (pino), a namespace per component (`child({ns: 'registrar'})`),
 * a pluggable destination, and redaction of secret-named fields wherever they appear, as a second line of
 * defence behind code that never logs them on purpose.
 */
import { pino, type DestinationStream } from 'pino';
import type { LogLevel } from './options.js';

/** The logger shape every layer accepts (pino-compatible, so layers need no pino import). */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const SECRET_FIELDS = ['password', 'secret', 'token', 'apiToken', 'configToken', 'hookSecret', 'authorization', 'ha1'];

/** pino redact paths: the secret names at the top level and up to three levels down. */
export const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]);

export interface LoggerOptions {
  level?: LogLevel | 'silent';
  /** Where lines go: a stream with write(), default stdout. */
  destination?: DestinationStream;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const p = pino(
    {
      name: opts.name ?? 'dragon-pbx',
      level: opts.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  return p as unknown as Logger;
}

/** A logger that drops everything (library default when the embedder passes none). */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * `parent.child(bindings)`, made on the first line that is really written. For per-call loggers: a pino child
 * (bindings serialised, redaction set up) cost ~1 % of the PBX's CPU per call in bench/call-rate.js, and most
 * calls never log at the enabled level. A parent with pino's isLevelEnabled() is asked before the child is made.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const p = parent as Logger & { isLevelEnabled?(level: string): boolean };
  const line = (level: Level) => (obj: object, msg?: string): void => {
    if (!child && typeof p.isLevelEnabled === 'function' && !p.isLevelEnabled(level)) return;
    (child ??= parent.child(bindings))[level](obj, msg);
  };
  return {
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    child: (b) => (child ??= parent.child(bindings)).child(b),
  };
}
