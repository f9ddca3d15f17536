/**
 * The RTP stream we SEND to one leg. It must look like one continuous stream to the receiver although its source
 * changes (relayed media from another leg, a new SSRC after a transfer, an announcement, transcoder output):
 * one SSRC, monotonic sequence numbers and timestamps. Pure pass-through keeps the input numbers untouched
 * (offsets 0) until the first switch; after a switch every packet gets `in + offset` and the first one the marker
 * bit (RFC 3551 §4.1: marker = start of a talk-spurt).
 */
import { setRtpSeq, setRtpTimestamp, setRtpSsrc, setRtpMarker } from '../rtp/index.js';

/** Source id of internally generated media (announcements); relayed sources use the leg index (≥ 0). */
export const SOURCE_PLAY = -2;

export class OutStream {
  ssrc = 0;
  hasSent = false;
  lastSeq = 0;
  lastTs = 0;
  lastSentMs = 0;
  private srcId = -1;
  private srcSsrc = -1;
  private seqOffset = 0;
  private tsOffset = 0;
  /** Times the source changed after the first packet. */
  switches = 0;

  /**
   * Rewrites the header of `buf` (in place) for sending. `inSeq`/`inTs` are the packet's numbers in its source's
   * space; `rate`/`frameSamples` describe the destination clock for the gap inserted at a switch.
   */
  rewrite(buf: Buffer, srcId: number, srcSsrc: number, inSeq: number, inTs: number, rate: number, frameSamples: number, nowMs: number): void {
    let marker = false;
    if (srcId !== this.srcId || srcSsrc !== this.srcSsrc) {
      if (!this.hasSent) {
        this.ssrc = srcSsrc >>> 0;
        this.seqOffset = 0;
        this.tsOffset = 0;
      } else {
        // continue after the last packet sent: next sequence number, timestamp advanced by the wall-clock gap
        // (at least one frame) so the receiver's jitter buffer sees neither a jump back nor a burst
        this.seqOffset = (this.lastSeq + 1 - inSeq) & 0xffff;
        let gap = Math.round(((nowMs - this.lastSentMs) * rate) / 1000);
        if (gap < frameSamples) gap = frameSamples;
        this.tsOffset = (this.lastTs + gap - inTs) >>> 0;
        this.switches++;
        marker = true;
      }
      this.srcId = srcId;
      this.srcSsrc = srcSsrc;
    }
    const seq = (inSeq + this.seqOffset) & 0xffff;
    const ts = (inTs + this.tsOffset) >>> 0;
    if (this.seqOffset !== 0) setRtpSeq(buf, seq);
    if (this.tsOffset !== 0) setRtpTimestamp(buf, ts);
    if (srcSsrc >>> 0 !== this.ssrc) setRtpSsrc(buf, this.ssrc);
    if (marker) setRtpMarker(buf, true);
    // keep the highest numbers sent (reordered packets must not move the base backwards)
    if (!this.hasSent || ((seq - this.lastSeq) & 0xffff) < 0x8000) this.lastSeq = seq;
    if (!this.hasSent || ((ts - this.lastTs) >>> 0) < 0x80000000) this.lastTs = ts;
    this.lastSentMs = nowMs;
    this.hasSent = true;
  }

  /** Forget the current source so the next packet is treated as a switch (e.g. after playback stops). */
  resetSource(): void {
    this.srcId = -1;
    this.srcSsrc = -1;
  }
}
