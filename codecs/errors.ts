/**
 * Typed errors of the codecs layer. Every code is listed with one sentence in docs/codecs.md.
 */
export type CodecErrorCode =
  | 'DPBX_ERR_CODEC_UNKNOWN'
  | 'DPBX_ERR_CODEC_UNAVAILABLE'
  | 'DPBX_ERR_CODEC_BAD_OPTION'
  | 'DPBX_ERR_CODEC_FRAME_SIZE'
  | 'DPBX_ERR_CODEC_BAD_PAYLOAD'
  | 'DPBX_ERR_CODEC_INTERNAL'
  | 'DPBX_ERR_CODEC_CLOSED';

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}

/** Structural pino-compatible logger; the layer is silent by default. */
export interface CodecLogger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};
export const silentLogger: CodecLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
