/**
 * Paced playout: emits one frame every `ptimeMs` scheduled against an absolute clock (frame n is due at
 * start + n × ptime), so timer lateness never accumulates — a late timer only delays that one frame, and the
 * next wait is shortened. When the process stalls longer than `maxCatchUpFrames` frames, the schedule is
 * re-anchored instead of bursting the backlog (a burst would overflow the receiver's jitter buffer).
 */

/** Injectable time source (milliseconds). */
export interface PlayClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: PlayClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface PlayoutOptions {
  /** Number of frames in the source. */
  frameCount: number;
  /** Called for each due frame with its index in the source and whether it starts a talk-spurt. */
  onFrame: (index: number, marker: boolean) => void;
  /** Called once when a non-looping source has been fully played (not after stop()). */
  onEnd?: (playedMs: number) => void;
  loop?: boolean;
  ptimeMs?: number;
  clock?: PlayClock;
  maxCatchUpFrames?: number;
}

export class Playout {
  private readonly opts: Required<Omit<PlayoutOptions, 'onEnd'>> & Pick<PlayoutOptions, 'onEnd'>;
  private anchor = 0;
  private due = 0; // frames emitted since the anchor
  private index = 0; // position in the source
  private emitted = 0;
  private timer: unknown = undefined;
  private running = false;
  /** Times the schedule was re-anchored after a stall. */
  resyncs = 0;

  constructor(opts: PlayoutOptions) {
    this.opts = {
      loop: false,
      ptimeMs: 20,
      clock: realClock,
      maxCatchUpFrames: 5,
      ...opts,
    };
  }

  get framesPlayed(): number {
    return this.emitted;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.anchor = this.opts.clock.now();
    this.due = 0;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const { clock, ptimeMs, frameCount, maxCatchUpFrames } = this.opts;
    const now = clock.now();
    if (now - (this.anchor + this.due * ptimeMs) > maxCatchUpFrames * ptimeMs) {
      this.anchor = now;
      this.due = 0;
      this.resyncs++;
    }
    while (this.running && this.anchor + this.due * ptimeMs <= now) {
      if (this.index >= frameCount) {
        if (!this.opts.loop || frameCount === 0) {
          this.running = false;
          this.opts.onEnd?.(this.emitted * ptimeMs);
          return;
        }
        this.index = 0;
      }
      this.opts.onFrame(this.index, this.emitted === 0);
      this.index++;
      this.emitted++;
      this.due++;
    }
    if (!this.running) return;
    const wait = this.anchor + this.due * ptimeMs - clock.now();
    this.timer = clock.setTimeout(this.tick, wait > 0 ? wait : 0);
  };
}
