/**
 * The codec registry: one entry per SDP encoding name and clock rate (RFC 3551 / RFC 7587 / RFC 4867 / RFC 3551
 * §4.5.2 for the G.722 clock-rate quirk), with frame sizes, supported ptimes, default fmtp and static payload type.
 */
export interface CodecInfo {
  /** SDP encoding name as written in a=rtpmap (case as registered; lookups are case-insensitive). */
  readonly name: string;
  /** Clock rate in the SDP rtpmap and of RTP timestamps. */
  readonly clockRate: number;
  /** Real audio sample rate of the PCM the codec objects take and give. */
  readonly sampleRate: number;
  /** Channels in the rtpmap (opus is always "/2" in SDP, RFC 7587 §7). */
  readonly sdpChannels: number;
  /** Static payload type (RFC 3551), or undefined for dynamic. */
  readonly payloadType?: number;
  /** Codec frame duration in ms (the unit a packet holds a whole number of); 0 for sample-based codecs. */
  readonly frameMs: number;
  /** Packetisation times (ms) this implementation encodes and decodes. */
  readonly ptimes: readonly number[];
  readonly defaultPtime: number;
  /** fmtp we offer by default. */
  readonly fmtp: Readonly<Record<string, string>>;
  /** Where it comes from (for docs and diagnostics). */
  readonly implementation: string;
  /** RTP timestamp units per sample of real audio (0.5 for G.722, 1 otherwise). */
  readonly timestampPerSample: number;
}

const sampleBasedPtimes = [10, 20, 30, 40, 50, 60] as const;

export const CODECS: readonly CodecInfo[] = [
  {
    name: 'PCMU', clockRate: 8000, sampleRate: 8000, sdpChannels: 1, payloadType: 0, frameMs: 0,
    ptimes: sampleBasedPtimes, defaultPtime: 20, fmtp: {}, implementation: 'alawmulaw (tabulated)',
    timestampPerSample: 1,
  },
  {
    name: 'PCMA', clockRate: 8000, sampleRate: 8000, sdpChannels: 1, payloadType: 8, frameMs: 0,
    ptimes: sampleBasedPtimes, defaultPtime: 20, fmtp: {}, implementation: 'alawmulaw (tabulated)',
    timestampPerSample: 1,
  },
  {
    name: 'G722', clockRate: 8000, sampleRate: 16000, sdpChannels: 1, payloadType: 9, frameMs: 0,
    ptimes: sampleBasedPtimes, defaultPtime: 20, fmtp: {}, implementation: 'own C (ITU-T G.722) → wasm',
    timestampPerSample: 0.5,
  },
  {
    name: 'GSM', clockRate: 8000, sampleRate: 8000, sdpChannels: 1, payloadType: 3, frameMs: 20,
    ptimes: [20, 40, 60], defaultPtime: 20, fmtp: {}, implementation: 'own C (ETSI GSM 06.10) → wasm',
    timestampPerSample: 1,
  },
  {
    name: 'opus', clockRate: 48000, sampleRate: 48000, sdpChannels: 2, frameMs: 20,
    ptimes: [10, 20, 40, 60], defaultPtime: 20,
    fmtp: { minptime: '10', useinbandfec: '1' }, implementation: '@discordjs/opus (libopus)',
    timestampPerSample: 1,
  },
  {
    name: 'AMR', clockRate: 8000, sampleRate: 8000, sdpChannels: 1, frameMs: 20,
    ptimes: [20, 40, 60], defaultPtime: 20, fmtp: { 'octet-align': '1' },
    implementation: 'native addon over libopencore-amrnb', timestampPerSample: 1,
  },
  {
    name: 'AMR-WB', clockRate: 16000, sampleRate: 16000, sdpChannels: 1, frameMs: 20,
    ptimes: [20, 40, 60], defaultPtime: 20, fmtp: { 'octet-align': '1' },
    implementation: 'native addon over libopencore-amrwb + libvo-amrwbenc', timestampPerSample: 1,
  },
  ...[8000, 16000, 44100, 48000].map(
    (rate): CodecInfo => ({
      name: 'L16', clockRate: rate, sampleRate: rate, sdpChannels: 1, ...(rate === 44100 ? { payloadType: 11 } : {}),
      frameMs: 0, ptimes: sampleBasedPtimes, defaultPtime: 20, fmtp: {}, implementation: 'built in (big-endian PCM)',
      timestampPerSample: 1,
    }),
  ),
];

/** PCM rates a codec object can exchange (CodecOptions.pcmRate), first = default; others: only their own. */
export const PCM_RATES: Readonly<Record<string, readonly number[]>> = {
  G722: [16000, 8000],
  opus: [48000, 24000, 16000, 12000, 8000],
};

/** Registry entry by SDP name (case-insensitive) and, when given, clock rate. */
export function findCodec(name: string, clockRate?: number): CodecInfo | undefined {
  const n = name.toUpperCase();
  return CODECS.find((c) => c.name.toUpperCase() === n && (clockRate === undefined || c.clockRate === clockRate));
}

/** Parses an SDP fmtp string ("a=1;b=2") into a record. */
export function parseFmtp(fmtp: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    const k = (eq < 0 ? part : part.slice(0, eq)).trim();
    if (k) out[k] = eq < 0 ? '' : part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * fmtp parameters for an opus leg that is transcoded to or from a leg of codec `other` (RFC 7587 §6.1):
 * `maxplaybackrate` and `sprop-maxcapturerate` at `other`'s PCM rate (8000 for PCMU/PCMA/GSM/AMR, 16000 for
 * G722/AMR-WB). Audio above that band is thrown away by the transcoding anyway, so the far end should neither code
 * it nor expect it: a remote encoder that honours maxplaybackrate sends narrow-band SILK, which costs a fraction
 * of a full-band packet to decode, and it knows our audio will not be wider. undefined when `other` is opus
 * (pass-through), unknown, or full-band.
 */
export function opusBandLimit(other: string): Record<string, string> | undefined {
  const info = findCodec(other);
  if (!info || info.name === 'opus' || info.sampleRate >= 48000) return undefined;
  // G.722's registry PCM rate is its real 16 kHz (the SDP clock says 8000, RFC 3551 §4.5.2)
  const rate = String(info.sampleRate);
  return { maxplaybackrate: rate, 'sprop-maxcapturerate': rate };
}
