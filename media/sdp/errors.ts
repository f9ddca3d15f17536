/**
 * Typed errors of media/sdp. Every one maps to SIP 488 Not Acceptable Here (RFC 3261 §21.4.26) when it comes
 * from a remote offer or answer: `status` carries that so the SIP layer needs no table. Codes are listed in
 * docs/media-sdp.md.
 */
export type SdpErrorCode =
  | 'DPBX_ERR_SDP_SYNTAX'
  | 'DPBX_ERR_SDP_MISSING_FIELD'
  | 'DPBX_ERR_SDP_BAD_VALUE'
  | 'DPBX_ERR_SDP_NO_COMMON_CODEC'
  | 'DPBX_ERR_SDP_ANSWER_MISMATCH'
  | 'DPBX_ERR_SDP_BAD_CRYPTO';

export class SdpError extends Error {
  readonly code: SdpErrorCode;
  /** SIP status the PBX answers with (488 Not Acceptable Here). */
  readonly status = 488;
  /** 1-based SDP line number when the error is tied to a line. */
  readonly line: number | undefined;
  constructor(code: SdpErrorCode, message: string, line?: number) {
    super(line !== undefined ? `${message} (line ${line})` : message);
    this.name = 'SdpError';
    this.code = code;
    this.line = line;
  }
}
