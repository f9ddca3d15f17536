/**
 * Public types of the relay: options, leg descriptions, statistics, events and the transcoder plugin
 * interface. Everything crossing the worker boundary is plain data (structured-clone safe).
 */

/** A payload format of a leg, as negotiated in SDP (one a=rtpmap line). */
export interface CodecSpec {
  /** RTP payload type number used on this leg (0–127). */
  pt: number;
  /** SDP encoding name: PCMU, PCMA, G722, opus, telephone-event, CN, ... (case-insensitive). */
  name: string;
  /** RTP clock rate (8000 for G.722 per RFC 3551). */
  rate: number;
  channels?: number;
  /** Packetisation time in ms (a=ptime), default 20. */
  ptime?: number;
  /** The a=fmtp parameters of this format as written in SDP (e.g. "useinbandfec=1;usedtx=1", "octet-align=1"). */
  fmtp?: string;
}

/** Direction attribute as announced by the REMOTE party of the leg (its SDP). */
export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface RemoteAddress {
  address: string;
  port: number;
  /** RTCP port when not muxed (default port + 1). */
  rtcpPort?: number;
}

/**
 * SRTP keying of a leg (RFC 4568 SDES, RFC 3711): what this leg's remote sends is unprotected with `remoteKey`,
 * what we send to it is protected with `localKey`. The other legs may be plain RTP (RTP↔SRTP bridging) or SRTP
 * with their own keys. Suites: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32.
 */
export interface SrtpLegOptions {
  suite: string;
  /** Base64 key||salt (30 bytes) we use to protect what we send to this leg (our a=crypto inline: key). */
  localKey: string;
  /** Base64 key||salt (30 bytes) the remote uses for what it sends (its a=crypto inline: key). */
  remoteKey: string;
  /** Replay window in packets (default 128). */
  replayWindow?: number;
  /** SRTCP tag length; RFC 4568 fixes 10 bytes; 4 only for peers that deviate (ffmpeg with _32). */
  srtcpTagLength?: 4 | 10;
}

export interface LegOptions {
  /** Leg id, unique in the session (e.g. 'A', 'B1'). */
  id: string;
  /** Address from the remote SDP (c=/m=); until latching, media is sent there. */
  remote?: RemoteAddress;
  /** Negotiated formats; the first entry that is not telephone-event/CN is the leg's audio codec. */
  codecs: CodecSpec[];
  /** RFC 5761 rtcp-mux (RTCP on the RTP port). Default false. */
  rtcpMux?: boolean;
  direction?: MediaDirection;
  /** Symmetric latching (learn the peer's address from its packets). Default true. */
  latching?: boolean;
  /** SDES-SRTP on this leg; `null` in an update turns it off. */
  srtp?: SrtpLegOptions | null;
  /**
   * RTCP towards this leg: 'auto' (default) passes the other leg's RTCP through when media is passed through and
   * generates our own SR/RR + SDES when the media towards it is transcoded or played; 'generate' always
   * generates (and never forwards the other legs' RTCP to it).
   */
  rtcp?: 'auto' | 'generate';
}

export type LegUpdate = Partial<Omit<LegOptions, 'id'>>;

export interface LegInfo {
  id: string;
  localAddress: string;
  localPort: number;
  /** Equal to localPort with rtcp-mux. */
  localRtcpPort: number;
}

/** Why packets were dropped; each counter only grows. */
export interface DropCounters {
  /** Not RTP/RTCP (bad version, too short, bad header lengths). */
  malformed: number;
  /** From an address other than the latched one (and not a legitimate re-latch). */
  stranger: number;
  /** Payload type not negotiated on the receiving leg, or no mapping on the sending leg. */
  unknownPt: number;
  /** telephone-event not negotiated on the destination leg. */
  noTelephoneEvent: number;
  /** No linked leg, or the linked leg has no known address yet. */
  noDestination: number;
  /** Direction/hold forbids it (remote is recvonly/inactive, or destination is sendonly/inactive). */
  direction: number;
  /** Relayed media for a leg that is playing an announcement that does not stop on media. */
  playing: number;
  /** The transcoder threw or is missing. */
  transcodeError: number;
  /** RTCP not forwarded (transcoded direction, or nowhere to send). */
  rtcp: number;
  /** Socket send errors. */
  sendError: number;
  /** SRTP/SRTCP packets that failed authentication, replay check or parsing on an SRTP leg. */
  srtp: number;
}

export interface LegStats {
  id: string;
  localPort: number;
  latched: boolean;
  /** Where we send (latched address, else the SDP address). */
  remote: { address: string; port: number } | null;
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /** RTCP compound packets we generated for this leg (subset of rtcpOut). */
  rtcpGenerated: number;
  /** SRTP on this leg: packets unprotected (in) / protected (out); null for plain RTP legs. */
  srtp: { suite: string; unprotected: number; protected: number; authFailures: number; replays: number } | null;
  /** RFC 3550 A.3 cumulative loss of what this leg sent us (all its SSRCs). */
  lost: number;
  /** RFC 3550 A.8 interarrival jitter of the current inbound SSRC, ms. */
  jitterMs: number;
  relatches: number;
  /** Milliseconds since the last packet from this leg (-1: never). */
  idleMs: number;
  drops: DropCounters;
}

export interface SessionStats {
  id: string;
  legs: LegStats[];
}

export interface PlayOptions {
  /** `file:NAME` (resolved against MEDIA_PATH), `tone:uk|us|eu`, or an absolute path to a WAV file. */
  url: string;
  loop?: boolean;
  /** Stop as soon as relayed media is about to be sent to this leg (ringback). Default true. */
  stopOnMedia?: boolean;
}

/** Events a session emits (listeners run on the main thread). */
export interface SessionEvents {
  /** First packet from a leg (or a re-latch) fixed its remote address. */
  latched: { legId: string; address: string; port: number; relatch: boolean };
  /** A latched leg sent nothing for `mediaTimeoutMs` (dead call). Fires once until media resumes. */
  mediaTimeout: { legId: string; idleMs: number };
  playbackComplete: { legId: string; durationMs: number; reason: 'end' | 'stopped' | 'media' | 'closed' };
  playbackFailed: { legId: string; error: { code: string; message: string } };
}

// ---------------------------------------------------------------------------------------------------------------
// Transcoder plugin interface
// ---------------------------------------------------------------------------------------------------------------

/** One side of a transcoding direction. */
export interface TranscoderCodec {
  /** SDP encoding name, or 'L16' (8 kHz 16-bit big-endian PCM) for announcements into non-G.711 legs. */
  name: string;
  rate: number;
  channels: number;
  /** Payload type on that leg (-1 for internal sources such as L16 playback). */
  pt: number;
  /** Packetisation time in ms of that leg. */
  ptime: number;
  /** a=fmtp parameters of that format (the transcoder honours e.g. opus usedtx/useinbandfec, AMR octet-align). */
  fmtp?: string;
}

/** RTP header facts of the input packet, for transcoders that need them (e.g. to detect gaps / PLC). */
export interface RtpMeta {
  pt: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}

/** One output frame: its payload and how many samples (at the output clock rate) it covers. */
export interface TranscodedFrame {
  payload: Uint8Array;
  durationSamples: number;
  /** RTP marker of this frame (talk-spurt start after re-packetisation); default: the input packet's, on frame 0. */
  marker?: boolean;
  /** Output-clock samples skipped BEFORE this frame (silence suppression, DTX, long loss); default 0. */
  gapSamples?: number;
}

/**
 * A transcoder for ONE direction (from → to). `transcode` receives one input payload and returns zero or more
 * output frames (N-to-M: it may buffer to re-packetise 20 ms → 30 ms, or split). `null` or `[]` = nothing to send
 * yet. The relay stamps the output RTP headers: consecutive sequence numbers, timestamp advanced by each frame's
 * `durationSamples`, the destination leg's SSRC and payload type. Called on the worker's packet path: it must be
 * synchronous and should not allocate more than needed. `close()` frees resources (called once).
 */
export interface Transcoder {
  transcode(payload: Uint8Array, meta: RtpMeta): TranscodedFrame[] | null;
  close(): void;
}

export interface TranscoderSpec {
  from: TranscoderCodec;
  to: TranscoderCodec;
}

/**
 * The plugin module (given to the relay as a module specifier: an absolute path or file:/data: URL) exports
 * `createTranscoder` (named export, or the default export). It may be async. Throwing (or returning null) means
 * the pair is unsupported: linking the legs fails with DPBX_ERR_RELAY_TRANSCODER.
 */
export type CreateTranscoder = (spec: TranscoderSpec) => Transcoder | null | Promise<Transcoder | null>;

// ---------------------------------------------------------------------------------------------------------------
// Relay options
// ---------------------------------------------------------------------------------------------------------------

export interface RelayLogger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RelayOptions {
  /** Default env RTP_PORT_MIN or 10000. */
  rtpPortMin?: number;
  /** Default env RTP_PORT_MAX or 20000. */
  rtpPortMax?: number;
  /** Local address sockets bind to. Default '0.0.0.0'. */
  bindAddress?: string;
  /** Address reported in LegInfo.localAddress (what goes into SDP). Default: bindAddress, or 127.0.0.1 for 0.0.0.0. */
  advertisedAddress?: string;
  /** worker_threads pool size; default os.availableParallelism(); 0 = run sessions in-process (tests). */
  workers?: number;
  /** Transcoder plugin module specifier (absolute path or URL). Without it, legs with different codecs cannot be linked. */
  transcoder?: string;
  /** Dead-media detection threshold for latched legs; default 60000 ms; 0 disables. */
  mediaTimeoutMs?: number;
  /** MEDIA_PATH for `file:` announcement URLs; default env MEDIA_PATH or the bundled media/sounds. */
  mediaPath?: string;
  /** Interval of generated RTCP reports (RFC 3550 §6.2 fixed 5 s minimum); default 5000 ms. */
  rtcpIntervalMs?: number;
  /** Load the transcoder plugin in every worker at start (the PBX does) instead of at the first transcoded bridge. Default false. */
  preloadTranscoder?: boolean;
  /** SO_RCVBUF / SO_SNDBUF for each socket (bytes); default: OS default. */
  socketBufferBytes?: number;
  logger?: RelayLogger;
}
