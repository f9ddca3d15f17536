/**
 * Test-only transcoder plugin: µ-law ↔ A-law through local tables, re-packetising to the destination ptime
 * (e.g. 20 ms in → 40 ms out) to exercise the N-to-M plumbing. Loaded by the relay as a module specifier.
 */
import type { CreateTranscoder, TranscodedFrame } from '../../../media/relay/index.js';
import { ULAW_DECODE, ALAW_DECODE, ULAW_ENCODE, ALAW_ENCODE } from '../../../media/play/index.js';

export const createTranscoder: CreateTranscoder = ({ from, to }) => {
  const names = `${from.name.toUpperCase()}>${to.name.toUpperCase()}`;
  const decode = from.name.toUpperCase() === 'PCMU' ? ULAW_DECODE : from.name.toUpperCase() === 'PCMA' ? ALAW_DECODE : null;
  // 'X-TEST' is a made-up dynamic codec (µ-law bytes under another name) so tests can exercise non-G.711 legs
  const toName = to.name.toUpperCase();
  const encode = toName === 'PCMU' || toName === 'X-TEST' ? ULAW_ENCODE : toName === 'PCMA' ? ALAW_ENCODE : null;
  if ((!decode && from.name !== 'L16') || !encode) return null;
  const frameSamples = (to.rate * to.ptime) / 1000;
  const pending = Buffer.alloc(frameSamples * 4);
  let filled = 0;
  return {
    transcode(payload) {
      const out: TranscodedFrame[] = [];
      const n = decode ? payload.length : payload.length / 2;
      for (let i = 0; i < n; i++) {
        const s = decode ? decode[payload[i]!]! : (payload[2 * i]! << 24) >> 16 | payload[2 * i + 1]!;
        pending[filled++] = encode[s & 0xffff]!;
        if (filled === frameSamples) {
          out.push({ payload: Buffer.from(pending.subarray(0, frameSamples)), durationSamples: frameSamples });
          filled = 0;
        }
      }
      return out;
    },
    close() {
      void names;
    },
  };
};
