// Public entry point of sip-stack/message/ — other layers import only this file.
export { SipParseError, defaultReason, type SipParseErrorCode, type SipErrorResponder } from './errors.js';
export { type SipLimits, DEFAULT_LIMITS, resolveLimits } from './limits.js';
export { canonicalHeaderName, headerKey, isListHeader } from './header-names.js';
export { type Params, splitList, unquote, quote, percentDecode } from './scan.js';
export { SipUri, parseUri } from './uri.js';
export { NameAddr, parseNameAddr } from './name-addr.js';
export { Via, parseVia, BRANCH_MAGIC_COOKIE } from './via.js';
export { type CSeq, type Reason, type Replaces, type EventValue, type SubscriptionState, type RAck, AuthValue,
  ContentType, parseCSeq, parseAuth, parseContentType, parseReason, parseReplaces, parseEvent,
  parseSubscriptionState, parseRAck } from './values.js';
export { SipMessage, SipRequest, SipResponse, type SipMessageAny, type HeaderField, type HeaderValueInput, parseSipDate,
  isKnownMethod } from './message.js';
export { parseMessage, tryParseMessage, type ParseOptions } from './parser.js';
export { createRequest, createResponse, generateBranch, generateTag, generateCallId, type CreateRequestOptions,
  type CreateResponseOptions, type AddressInput } from './builders.js';
export { SipStreamFramer, type FramerEvent, type FramerCounters, type StreamFramerOptions } from './stream-framer.js';
