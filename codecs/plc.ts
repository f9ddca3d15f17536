/**
 * Repeat-and-attenuate packet-loss concealment for codecs without their own (G.711, G.722, GSM): the first lost
 * frame repeats the last good one at half amplitude, the second at a quarter, then silence.
 */
export class RepeatAttenuatePlc {
  private last: Int16Array;
  private lastLen = 0;
  private lost = 0;
  private readonly out: Int16Array;

  constructor(maxSamples: number) {
    this.last = new Int16Array(maxSamples);
    this.out = new Int16Array(maxSamples);
  }

  /** Remember a good frame. */
  good(pcm: Int16Array): void {
    if (pcm.length > this.last.length) this.last = new Int16Array(pcm.length);
    this.last.set(pcm);
    this.lastLen = pcm.length;
    this.lost = 0;
  }

  /** One concealed frame of `samples` samples. */
  conceal(samples: number): Int16Array {
    this.lost++;
    const out = this.out.length >= samples ? this.out.subarray(0, samples) : new Int16Array(samples);
    const shift = this.lost;
    if (shift > 2 || this.lastLen === 0) {
      out.fill(0);
      return out;
    }
    for (let i = 0; i < samples; i++) out[i] = i < this.lastLen ? this.last[i]! >> shift : 0;
    return out;
  }
}
