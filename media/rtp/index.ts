// Public entry point of media/rtp/ — other layers import only this file.
export { RtpError } from './errors.js';
export type { RtpErrorCode, SrtpFailure } from './errors.js';
export {
  RtpPacket,
  RTP_HEADER_SIZE,
  RTP_VERSION,
  RTP_OFFSET_FLAGS,
  RTP_OFFSET_MPT,
  RTP_OFFSET_SEQ,
  RTP_OFFSET_TIMESTAMP,
  RTP_OFFSET_SSRC,
  RTP_OFFSET_CSRC,
  isRtpPacket,
  isRtcpPacket,
  rtpHeaderLength,
  rtpPayloadLength,
  rtpSeq,
  setRtpSeq,
  rtpTimestamp,
  setRtpTimestamp,
  rtpSsrc,
  setRtpSsrc,
  rtpPayloadType,
  setRtpPayloadType,
  rtpMarker,
  setRtpMarker,
  writeRtpHeader,
} from './rtp-packet.js';
export type { RtpHeaderExtension, RtpPacketFields } from './rtp-packet.js';
export {
  SEQ_MOD,
  SEQ_MASK,
  TS_MOD,
  seqDiff,
  seqLessThan,
  seqAdd,
  tsDiff,
  tsLessThan,
  tsAdd,
  SeqUnwrapper,
} from './sequence.js';
export { RtpSourceStats, RTP_MAX_DROPOUT, RTP_MAX_MISORDER, RTP_MIN_SEQUENTIAL } from './source-stats.js';
export type { RtpSourceStatsOptions, RtpSourceReport } from './source-stats.js';
export {
  parseRtcp,
  serializeRtcp,
  ntpFromUnixMs,
  ntpMiddle32,
  RTCP_HEADER_SIZE,
  RTCP_PT_SR,
  RTCP_PT_RR,
  RTCP_PT_SDES,
  RTCP_PT_BYE,
  RTCP_PT_APP,
  RTCP_REPORT_BLOCK_SIZE,
  SDES_CNAME,
  SDES_NAME,
  SDES_EMAIL,
  SDES_PHONE,
  SDES_LOC,
  SDES_TOOL,
  SDES_NOTE,
  SDES_PRIV,
} from './rtcp/rtcp-packet.js';
export type {
  RtcpPacket,
  RtcpSenderReport,
  RtcpReceiverReport,
  RtcpReportBlock,
  RtcpSourceDescription,
  RtcpSdesChunk,
  RtcpSdesItem,
  RtcpBye,
  RtcpUnknownPacket,
} from './rtcp/rtcp-packet.js';
export {
  parseTelephoneEvent,
  writeTelephoneEvent,
  serializeTelephoneEvent,
  dtmfDigitFromEvent,
  dtmfEventFromDigit,
  TELEPHONE_EVENT_SIZE,
} from './telephone-event.js';
export type { TelephoneEvent } from './telephone-event.js';
export {
  SrtpContext,
  SRTP_SUITES,
  SRTP_KEY_SALT_LENGTH,
  isSrtpSuite,
  isSrtpFailure,
  generateSrtpKeySalt,
} from './srtp/srtp-context.js';
export type { SrtpSuite, SrtpContextOptions, SrtpCounters, SrtpLogger } from './srtp/srtp-context.js';
export {
  AesCmKeystream,
  srtpKdf,
  deriveSrtpSessionKeys,
  SRTP_LABEL_RTP_ENCRYPTION,
  SRTP_LABEL_RTP_AUTH,
  SRTP_LABEL_RTP_SALT,
  SRTP_LABEL_RTCP_ENCRYPTION,
  SRTP_LABEL_RTCP_AUTH,
  SRTP_LABEL_RTCP_SALT,
} from './srtp/aes-cm.js';
export type { SrtpSessionKeys } from './srtp/aes-cm.js';
export { ReplayWindow } from './srtp/replay-window.js';
