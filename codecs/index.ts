/**
 * Public entry point of the codecs layer (`dragon-pbx/codecs`): a registry by SDP name and clock rate, encoder /
 * decoder factories, a stateful resampler and a per-direction transcoding pipeline.
 */
import { CodecError, type CodecLogger } from './errors.js';
import { G711Decoder, G711Encoder } from './g711.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { OpusDecoderImpl, OpusEncoderImpl, opusStatus } from './opus.js';
import { L16Decoder, L16Encoder } from './l16.js';
import { GsmDecoder, GsmEncoder, gsmStatus } from './gsm.js';
import { amrStatus, AmrDecoder, AmrEncoder } from './amr.js';
import { CODECS, PCM_RATES, findCodec, type CodecInfo } from './registry.js';
import type { CodecOptions, Decoder, Encoder } from './types.js';
import { TranscodingPipeline, type PipelineOptions } from './pipeline.js';

export { CodecError, silentLogger, type CodecErrorCode, type CodecLogger } from './errors.js';
export type { CodecOptions, Decoder, Encoder } from './types.js';
export { CODECS, PCM_RATES, findCodec, opusBandLimit, parseFmtp, type CodecInfo } from './registry.js';
export { Resampler, monoToStereo, stereoToMono, type ResamplerOptions } from './resampler.js';
export {
  TranscodingPipeline,
  type PipelineCounters,
  type PipelineEndpoint,
  type PipelineFrame,
  type PipelineOptions,
  type PushInfo,
} from './pipeline.js';
export { amrStatus } from './amr.js';
export { opusStatus } from './opus.js';

/** Availability of one codec implementation at runtime. */
export interface CodecStatus {
  name: string;
  available: boolean;
  /** Why it is unavailable (one line, suitable for a warning log). */
  reason?: string;
}

/** Runtime availability of every registered codec (optional ones: opus, AMR, AMR-WB). */
export function codecStatus(): CodecStatus[] {
  return CODECS.map((c) => {
    const s =
      c.name === 'opus'
        ? opusStatus()
        : c.name === 'AMR' || c.name === 'AMR-WB'
          ? amrStatus()
          : c.name === 'GSM'
            ? gsmStatus()
            : { available: true };
    return { name: c.name, ...s };
  });
}

/**
 * Logs ONE warning line per reason an optional codec is unavailable (call once at start): e.g. a missing AMR
 * addon gives one line naming AMR and AMR-WB. Returns the number of lines logged.
 */
export function logCodecStatus(logger: CodecLogger): number {
  const byReason = new Map<string, string[]>();
  for (const s of codecStatus()) {
    if (s.available) continue;
    const r = s.reason ?? 'unavailable';
    byReason.set(r, [...(byReason.get(r) ?? []), s.name]);
  }
  for (const [reason, codecs] of byReason)
    logger.warn({ codecs, reason }, `codecs ${codecs.join(', ')} not offered: ${reason}`);
  return byReason.size;
}

/** Registry entries of the codecs usable in this process. */
export function listCodecs(): CodecInfo[] {
  const ok = new Set(codecStatus().filter((s) => s.available).map((s) => s.name));
  return CODECS.filter((c) => ok.has(c.name));
}

function resolve(name: string, opts: CodecOptions): { info: CodecInfo; frameSamples: number; channels: number; pcmRate: number } {
  const info = findCodec(name, opts.rate);
  if (!info) {
    const byName = findCodec(name);
    throw new CodecError(
      byName ? 'DPBX_ERR_CODEC_BAD_OPTION' : 'DPBX_ERR_CODEC_UNKNOWN',
      byName ? `${name}: clock rate ${String(opts.rate)} not supported (use ${byName.clockRate})` : `unknown codec ${name}`,
    );
  }
  const st = codecStatus().find((s) => s.name === info.name);
  if (st && !st.available) throw new CodecError('DPBX_ERR_CODEC_UNAVAILABLE', `${info.name}: ${st.reason}`);
  const channels = opts.channels ?? 1;
  if (!Number.isInteger(channels) || channels < 1 || channels > (info.name === 'opus' ? 2 : 1))
    throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${info.name}: channels=${String(opts.channels)}`);
  const pcmRate = opts.pcmRate ?? info.sampleRate;
  if (!(PCM_RATES[info.name] ?? [info.sampleRate]).includes(pcmRate))
    throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${info.name}: pcmRate ${String(opts.pcmRate)} not supported`);
  let frameSamples = opts.frameSamples;
  if (frameSamples === undefined) {
    const ptime = opts.ptime ?? info.defaultPtime;
    if (!info.ptimes.includes(ptime) && !(info.name === 'opus' && [2.5, 5].includes(ptime)))
      throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${info.name}: ptime ${ptime} not supported (${info.ptimes.join(', ')})`);
    frameSamples = (pcmRate * ptime) / 1000;
  }
  if (!Number.isInteger(frameSamples) || frameSamples <= 0)
    throw new CodecError('DPBX_ERR_CODEC_BAD_OPTION', `${info.name}: frameSamples=${String(frameSamples)}`);
  return { info, frameSamples, channels, pcmRate };
}

/** An encoder for SDP name `name`; options carry rate, channels, ptime/frameSamples and fmtp parameters. */
export function createEncoder(name: string, opts: CodecOptions = {}): Encoder {
  const { info, frameSamples, channels, pcmRate } = resolve(name, opts);
  switch (info.name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Encoder(info.name, frameSamples);
    case 'G722':
      return new G722Encoder(frameSamples, pcmRate);
    case 'GSM':
      return new GsmEncoder(frameSamples);
    case 'opus':
      return new OpusEncoderImpl(channels, frameSamples, opts, pcmRate);
    case 'AMR':
    case 'AMR-WB':
      return new AmrEncoder(info.name, frameSamples, opts);
    case 'L16':
      return new L16Encoder(info.sampleRate, 1, frameSamples);
  }
  throw new CodecError('DPBX_ERR_CODEC_UNKNOWN', `unknown codec ${name}`);
}

/** A decoder for SDP name `name` (same options as createEncoder). */
export function createDecoder(name: string, opts: CodecOptions = {}): Decoder {
  const { info, frameSamples, channels, pcmRate } = resolve(name, opts);
  switch (info.name) {
    case 'PCMU':
    case 'PCMA':
      return new G711Decoder(info.name, frameSamples);
    case 'G722':
      return new G722Decoder(frameSamples, pcmRate);
    case 'GSM':
      return new GsmDecoder(frameSamples);
    case 'opus':
      return new OpusDecoderImpl(channels, frameSamples, pcmRate);
    case 'AMR':
    case 'AMR-WB':
      return new AmrDecoder(info.name, frameSamples, opts);
    case 'L16':
      return new L16Decoder(info.sampleRate, 1, frameSamples);
  }
  throw new CodecError('DPBX_ERR_CODEC_UNKNOWN', `unknown codec ${name}`);
}

/**
 * A transcoding pipeline for one direction (decode → resample → re-packetise → encode); see pipeline.ts.
 * Example: `createTranscoder({ from: { name: 'PCMU' }, to: { name: 'opus', ptime: 20, useinbandfec: 1 } })`.
 */
export function createTranscoder(
  opts: Omit<PipelineOptions, 'createEncoder' | 'createDecoder'>,
): TranscodingPipeline {
  return new TranscodingPipeline({ ...opts, createEncoder, createDecoder });
}
