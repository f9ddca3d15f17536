// Public entry point of media/play/ — other layers import only this file.
export { PlayError, WavError, type PlayErrorCode } from './errors.js';
export {
  ULAW_DECODE, ALAW_DECODE, ULAW_ENCODE, ALAW_ENCODE, ULAW_SILENCE, ALAW_SILENCE, encodeG711, decodeG711,
} from './g711.js';
export { readWav, writeWav, SUPPORTED_WAV_RATES, type WavAudio, type WavEncoding, type WavWriteOptions } from './wav.js';
export { toMono, resampleMono, wavToMonoPcm } from './resample.js';
export { generateTone, generateRingback, RINGBACK_TONES, type RingbackCountry, type ToneSpec } from './tones.js';
export { Playout, realClock, type PlayClock, type PlayoutOptions } from './playout.js';
export {
  BUNDLED_MEDIA_PATH, DEFAULT_RINGTONE, defaultMediaPath, resolveMediaUrl, pcmToFrames, loadFrames, frame,
  type FrameSource, type BuiltinCodec,
} from './media-source.js';
