/**
 * PCMU (G.711 mu-law) and PCMA (G.711 A-law), RFC 3551 payload types 0 and 8, built on the `alawmulaw` package.
 *
 * alawmulaw's array functions allocate a new array per call, so we tabulate its per-sample functions once
 * (64 Ki entries to encode, 256 to decode) and convert into buffers owned by each codec object.
 */
import { createRequire } from 'node:module';
import { CodecError } from './errors.js';
import { RepeatAttenuatePlc } from './plc.js';
import type { Decoder, Encoder } from './types.js';

type AlawMulaw = typeof import('alawmulaw');
const alawmulaw = createRequire(import.meta.url)('alawmulaw') as AlawMulaw;

interface Tables {
  enc: Uint8Array; // index: sample + 32768
  dec: Int16Array; // index: code byte
}
const tables = new Map<string, Tables>();

function tablesFor(name: 'PCMU' | 'PCMA'): Tables {
  let t = tables.get(name);
  if (!t) {
    const law = name === 'PCMU' ? alawmulaw.mulaw : alawmulaw.alaw;
    const enc = new Uint8Array(65536);
    for (let s = -32768; s < 32768; s++) enc[s + 32768] = law.encodeSample(s);
    const dec = new Int16Array(256);
    for (let c = 0; c < 256; c++) dec[c] = law.decodeSample(c);
    t = { enc, dec };
    tables.set(name, t);
  }
  return t;
}

export class G711Encoder implements Encoder {
  readonly sampleRate = 8000;
  readonly channels = 1;
  private readonly enc: Uint8Array;
  private out: Buffer;

  constructor(readonly name: 'PCMU' | 'PCMA', readonly frameSamples: number) {
    this.enc = tablesFor(name).enc;
    this.out = Buffer.allocUnsafe(frameSamples);
  }

  encode(pcm: Int16Array): Buffer {
    const n = pcm.length;
    if (n > this.out.length) this.out = Buffer.allocUnsafe(n);
    const out = this.out;
    const enc = this.enc;
    for (let i = 0; i < n; i++) out[i] = enc[pcm[i]! + 32768]!;
    return n === out.length ? out : out.subarray(0, n);
  }

  close(): void {}
}

export class G711Decoder implements Decoder {
  readonly sampleRate = 8000;
  readonly channels = 1;
  private readonly dec: Int16Array;
  private out: Int16Array;
  private readonly plc: RepeatAttenuatePlc;

  constructor(readonly name: 'PCMU' | 'PCMA', readonly frameSamples: number) {
    this.dec = tablesFor(name).dec;
    this.out = new Int16Array(frameSamples);
    this.plc = new RepeatAttenuatePlc(frameSamples);
  }

  decode(payload: Buffer | null): Int16Array {
    if (payload === null) return this.plc.conceal(this.frameSamples);
    const n = payload.length;
    if (n === 0) throw new CodecError('DPBX_ERR_CODEC_BAD_PAYLOAD', `${this.name}: empty payload`);
    if (n > this.out.length) this.out = new Int16Array(n);
    const out = n === this.out.length ? this.out : this.out.subarray(0, n);
    const dec = this.dec;
    for (let i = 0; i < n; i++) out[i] = dec[payload[i]!]!;
    this.plc.good(out);
    return out;
  }

  conceal(): Int16Array {
    return this.decode(null);
  }

  close(): void {}
}
