/**
 * Ringback tone generator. A cadence alternates tone-on and silence segments (seconds); one full cycle is
 * generated and players loop it.
 */
export type RingbackCountry = 'uk' | 'us' | 'eu';

export interface ToneSpec {
  /** Frequencies summed while the tone is on (Hz). */
  frequencies: readonly number[];
  /** Alternating on/off durations in seconds, starting with on. */
  cadence: readonly number[];
}

export const RINGBACK_TONES: Readonly<Record<RingbackCountry, ToneSpec>> = {
  uk: { frequencies: [400, 450], cadence: [0.4, 0.2, 0.4, 2.0] },
  us: { frequencies: [440, 480], cadence: [2.0, 4.0] },
  eu: { frequencies: [425], cadence: [1.0, 4.0] },
};

/** Peak amplitude of each component (about -16 dBFS for two summed tones). */
const COMPONENT_AMPLITUDE = 4000;

/** One full cadence cycle of the tone as 16-bit mono PCM at `rate`. */
export function generateTone(spec: ToneSpec, rate = 8000): Int16Array {
  const total = spec.cadence.reduce((a, b) => a + b, 0);
  const out = new Int16Array(Math.round(total * rate));
  let pos = 0;
  let n = 0; // running sample index keeps the phase continuous across on segments
  spec.cadence.forEach((seconds, i) => {
    const len = Math.round(seconds * rate);
    const on = i % 2 === 0;
    for (let k = 0; k < len && pos < out.length; k++, pos++, n++) {
      if (!on) continue;
      let v = 0;
      for (const f of spec.frequencies) v += COMPONENT_AMPLITUDE * Math.sin((2 * Math.PI * f * n) / rate);
      out[pos] = Math.round(v);
    }
  });
  return out;
}

export function generateRingback(country: RingbackCountry, rate = 8000): Int16Array {
  return generateTone(RINGBACK_TONES[country], rate);
}
