/**
 * Typed errors of media/rtp. Every code is listed with one sentence of explanation in docs/media-rtp.md.
 * Parsers throw only `RtpError`; SRTP `unprotect*` returns one of the `SrtpFailure` codes instead of throwing
 * (the relay hot path counts and drops).
 */
export type RtpErrorCode =
  | 'DPBX_ERR_RTP_TRUNCATED'
  | 'DPBX_ERR_RTP_BAD_VERSION'
  | 'DPBX_ERR_RTP_BAD_PADDING'
  | 'DPBX_ERR_RTP_BAD_FIELD'
  | 'DPBX_ERR_RTCP_TRUNCATED'
  | 'DPBX_ERR_RTCP_BAD_VERSION'
  | 'DPBX_ERR_RTCP_BAD_LENGTH'
  | 'DPBX_ERR_RTCP_BAD_PADDING'
  | 'DPBX_ERR_DTMF_TRUNCATED'
  | 'DPBX_ERR_SRTP_BAD_KEY'
  | 'DPBX_ERR_SRTP_UNSUPPORTED_SUITE'
  | SrtpFailure;

/** Result codes of SRTP/SRTCP unprotect (and of protect on malformed input). */
export type SrtpFailure =
  | 'DPBX_ERR_SRTP_TOO_SHORT'
  | 'DPBX_ERR_SRTP_AUTH_FAILED'
  | 'DPBX_ERR_SRTP_REPLAY'
  | 'DPBX_ERR_SRTP_BAD_PACKET';

export class RtpError extends Error {
  readonly code: RtpErrorCode;
  constructor(code: RtpErrorCode, message: string) {
    super(message);
    this.name = 'RtpError';
    this.code = code;
  }
}
