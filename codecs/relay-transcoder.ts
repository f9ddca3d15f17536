/**
 * Transcoder plugin for media/relay (its `CreateTranscoder` contract, matched structurally so codecs/ does not
 * import media/): give the relay this module's path, e.g.
 *   createRelay({ transcoder: fileURLToPath(import.meta.resolve('dragon-pbx/codecs/relay-transcoder')) })
 * or, inside the repository, `dist/codecs/relay-transcoder.js`.
 *
 * Each direction gets one TranscodingPipeline (decode → resample → re-packetise → encode, PLC on sequence gaps,
 * bad payloads counted). Unsupported pairs throw a CodecError, which the relay reports as
 * DPBX_ERR_RELAY_TRANSCODER.
 */
import { createTranscoder as createPipeline, findCodec } from './index.js';
import type { CodecOptions } from './types.js';
import type { PipelineCounters } from './pipeline.js';

/** Structural copies of media/relay's TranscoderCodec / TranscoderSpec / RtpMeta / TranscodedFrame / Transcoder. */
export interface RelayCodec {
  name: string;
  rate: number;
  channels: number;
  pt: number;
  ptime: number;
  /** fmtp parameters when the relay knows them (optional extension). */
  fmtp?: Record<string, string>;
}
export interface RelaySpec {
  from: RelayCodec;
  to: RelayCodec;
}
export interface RelayRtpMeta {
  pt: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
}
export interface RelayFrame {
  payload: Uint8Array;
  durationSamples: number;
}
export interface RelayTranscoder {
  transcode(payload: Uint8Array, meta: RelayRtpMeta): RelayFrame[] | null;
  close(): void;
  /** Drop / error counters of the underlying pipeline. */
  readonly counters: PipelineCounters;
}

function endpoint(c: RelayCodec): CodecOptions & { name: string } {
  const info = findCodec(c.name, c.rate);
  const isOpus = c.name.toLowerCase() === 'opus';
  return {
    ...(info?.fmtp ?? {}),
    ...(c.fmtp ?? {}),
    name: c.name,
    rate: c.rate,
    channels: isOpus ? (c.channels === 1 ? 1 : c.channels === 2 && c.fmtp?.stereo === '1' ? 2 : 1) : 1,
    ptime: c.ptime > 0 ? c.ptime : (info?.defaultPtime ?? 20),
  };
}

export function createTranscoder(spec: RelaySpec): RelayTranscoder {
  const pipeline = createPipeline({ from: endpoint(spec.from), to: endpoint(spec.to) });
  const frames: RelayFrame[] = [];
  return {
    counters: pipeline.counters,
    transcode(payload: Uint8Array, meta: RelayRtpMeta): RelayFrame[] | null {
      const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      const out = pipeline.push(buf, { seq: meta.seq, timestamp: meta.timestamp, marker: meta.marker });
      if (out.length === 0) return null;
      frames.length = out.length;
      for (let i = 0; i < out.length; i++) {
        const f = out[i]!;
        const r = frames[i];
        if (r) {
          r.payload = f.payload;
          r.durationSamples = f.samples;
        } else frames[i] = { payload: f.payload, durationSamples: f.samples };
      }
      return frames;
    },
    close(): void {
      pipeline.close();
    },
  };
}

export default createTranscoder;
