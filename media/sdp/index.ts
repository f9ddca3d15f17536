// Public entry point of media/sdp/ — other layers import only this file.
export { SdpError } from './errors.js';
export type { SdpErrorCode } from './errors.js';
export { parseSdp, serializeSdp } from './session-description.js';
export type {
  SessionDescription,
  SdpOrigin,
  SdpConnection,
  SdpBandwidth,
  SdpAttribute,
  SdpTiming,
  SdpMedia,
} from './session-description.js';
export {
  STATIC_PAYLOAD_TYPES,
  staticPayloadType,
  findAttribute,
  findAttributes,
  parseRtpmap,
  mediaCodecs,
  mediaDirection,
  mediaConnection,
  connectionAddress,
  isHoldConnection,
  mediaPtime,
  mediaMaxPtime,
  mediaRtcp,
  mediaRtcpMux,
  parseCrypto,
  formatCrypto,
  mediaCryptos,
} from './attributes.js';
export type { SdpCodec, SdpDirection, SdpRtpmap, SdpRtcpAttribute, SdpCrypto, SdpCryptoKeyParam } from './attributes.js';
export { answerDirection, answerOffer, offerCodecs, buildOfferMedia, mergeFmtp, processAnswer } from './offer-answer.js';
export type {
  SdpCodecPreference,
  SdpSrtpOptions,
  SdpMediaOptions,
  SdpAnswerOptions,
  SdpNegotiatedSrtp,
  SdpNegotiatedAudio,
} from './offer-answer.js';
export { SdpLocalSession } from './local-session.js';
export type { SdpLocalSessionOptions } from './local-session.js';
