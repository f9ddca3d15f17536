// Typed errors of the SIP message layer. Every failure of parsing or framing is a SipParseError with a stable
// `code`, the SIP `status` a server should answer with (when it answers at all) and a precise `reason`.

/** Stable error codes; each is described in docs/sip-stack.md (section "message"). */
export type SipParseErrorCode =
  | 'DPBX_ERR_SIP_PARSE'
  | 'DPBX_ERR_SIP_VERSION'
  | 'DPBX_ERR_SIP_TOO_LARGE'
  | 'DPBX_ERR_SIP_BODY_TOO_LARGE'
  | 'DPBX_ERR_SIP_URI_TOO_LONG'
  | 'DPBX_ERR_SIP_CONTENT_LENGTH'
  | 'DPBX_ERR_SIP_BODY_TRUNCATED'
  | 'DPBX_ERR_SIP_MISSING_HEADER'
  | 'DPBX_ERR_SIP_BAD_HEADER'
  | 'DPBX_ERR_SIP_CSEQ_MISMATCH';

/**
 * Minimal view of a request that was readable enough to answer (start line, top Via, From, To, Call-ID, CSeq).
 * `responseFor()` on the error builds the wire bytes of the answer from it.
 */
export interface SipErrorResponder {
  (status?: number, reason?: string): Buffer;
}

// Bad input from the network is an expected outcome, not a bug: a stack trace says nothing useful about it, and
// even without one (Error.stackTraceLimit = 0) the Error constructor costs more than parsing a whole message,
// which would turn a flood of garbage into a CPU problem. SipParseError is therefore not built by the Error
// constructor: it is a plain class whose prototype inherits from Error.prototype (`instanceof Error` holds,
// toString() and util.inspect() treat it as an error), with `message` and `stack` as accessors over private
// fields (not own enumerable keys, as on an Error). `stack` holds only the first line, "SipParseError: reason";
// unexpected failures keep theirs in `cause`.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface SipParseError extends Error {
  cause?: unknown;
}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SipParseError {
  readonly name = 'SipParseError';
  readonly code: SipParseErrorCode;
  /** SIP status to answer a request with: 400, 413, 414, 505 or 513. */
  readonly status: number;
  /** Short human reason, safe to use as (the tail of) a SIP reason phrase: no CR/LF, ASCII. */
  readonly reason: string;
  /** Canonical name of the header at fault, when one is. */
  readonly header: string | undefined;
  /**
   * Present when the message was a request whose start line, top Via, From, To, Call-ID and CSeq were readable:
   * builds the error response (RFC 3261 §8.2.6) to send back. Absent: drop the message and count it.
   */
  responseFor: SipErrorResponder | undefined;
  /** True when a stream framer can no longer find message boundaries: close the connection. */
  readonly fatal: boolean;
  #message: string;
  #stack: string | undefined;

  constructor(code: SipParseErrorCode, status: number, reason: string, opts?: { header?: string; fatal?: boolean }) {
    this.code = code;
    this.status = status;
    this.reason = sanitizeReason(reason);
    this.header = opts?.header;
    this.fatal = opts?.fatal ?? false;
    this.responseFor = undefined;
    this.#message = reason;
    this.#stack = undefined;
  }

  /** The reason as given (Error.prototype.message). */
  get message(): string { return this.#message; }
  set message(m: string) { this.#message = m; }

  /** "SipParseError: <message>" (no frames, see above). */
  get stack(): string { return this.#stack ?? `${this.name}: ${this.#message}`; }
  set stack(s: string) { this.#stack = s; }

  /** Reason phrase for the answer: e.g. "Bad Request (CSeq method does not match request method)". */
  get reasonPhrase(): string {
    return `${defaultReason(this.status)} (${this.reason})`;
  }
}
Object.setPrototypeOf(SipParseError.prototype, Error.prototype);

/** A character a reason phrase may not carry as is (outside printable ASCII). */
const UNSAFE_REASON = /[^\x20-\x7e]/;

function sanitizeReason(s: string): string {
  // The common case, a short printable reason, by one native scan (half the cost of the loop below).
  if (s.length <= 200 && !UNSAFE_REASON.test(s)) return s;
  const n = Math.min(s.length, 200);
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) break;
    i++;
  }
  if (i === n) return n === s.length ? s : s.slice(0, n);
  let out = s.slice(0, i);
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? s[i] : '?';
  }
  return out;
}

export function badHeader(header: string, what: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_BAD_HEADER', 400, `Malformed ${header}: ${what}`, { header });
}

export function parseFail(what: string): SipParseError {
  return new SipParseError('DPBX_ERR_SIP_PARSE', 400, what);
}

const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  199: 'Early Dialog Terminated', 200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy',
  380: 'Alternative Service', 400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required',
  408: 'Request Timeout', 410: 'Gone', 412: 'Conditional Request Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Long', 415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority', 420: 'Bad Extension', 421: 'Extension Required',
  422: 'Session Interval Too Small', 423: 'Interval Too Brief', 428: 'Use Identity Header',
  429: 'Provide Referrer Identity', 433: 'Anonymity Disallowed', 436: 'Bad Identity-Info',
  437: 'Unsupported Certificate', 438: 'Invalid Identity Header', 439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded', 469: 'Bad Info Package', 470: 'Consent Needed',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected',
  483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 489: 'Bad Event', 491: 'Request Pending', 493: 'Undecipherable',
  494: 'Security Agreement Required', 500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
  555: 'Push Notification Service Not Supported', 580: 'Precondition Failure', 600: 'Busy Everywhere',
  603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable', 607: 'Unwanted', 608: 'Rejected',
};

/** The RFC reason phrase of a status code ("Unknown" when none is registered). */
export function defaultReason(status: number): string {
  return REASONS[status] ?? (status >= 200 && status < 300 ? 'OK' : 'Unknown');
}
