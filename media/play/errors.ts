/**
 * Errors of media/play. Every class carries a stable `code`; docs/media.md lists them all.
 */
export type PlayErrorCode =
  | 'DPBX_ERR_WAV_INVALID'
  | 'DPBX_ERR_WAV_TRUNCATED'
  | 'DPBX_ERR_WAV_NO_DATA'
  | 'DPBX_ERR_WAV_UNSUPPORTED'
  | 'DPBX_ERR_MEDIA_URL'
  | 'DPBX_ERR_PLAY_CODEC';

export class PlayError extends Error {
  readonly code: PlayErrorCode;
  constructor(code: PlayErrorCode, message: string) {
    super(message);
    this.name = 'PlayError';
    this.code = code;
  }
}

/** A WAV file that cannot be played: bad RIFF structure, truncated, no data chunk, or an unsupported format. */
export class WavError extends PlayError {
  constructor(code: PlayErrorCode, message: string) {
    super(code, message);
    this.name = 'WavError';
  }
}
