import t from 'tap';
import { Playout, type PlayClock } from '../../../media/play/index.js';

/** Virtual clock whose timers fire late by a pseudo-random 0–`lateMs` ms, like a loaded event loop. */
class LateClock implements PlayClock {
  time = 1000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  private rnd = 12345;
  constructor(private readonly lateMs: number) {}
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    this.rnd = (this.rnd * 1103515245 + 12345) & 0x7fffffff;
    const late = (this.rnd / 0x7fffffff) * this.lateMs;
    const id = ++this.seq;
    this.timers.push({ at: this.time + ms + late, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advanceTo(end: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.time = Math.max(this.time, next.at);
      next.fn();
    }
    this.time = end;
  }
}

t.test('20 ms cadence holds within ±2 ms per packet over 10 s of virtual time despite late timers', async (t) => {
  const clock = new LateClock(1.8);
  const sent: number[] = [];
  const p = new Playout({ frameCount: 50, loop: true, clock, onFrame: () => sent.push(clock.now()) });
  const start = clock.now();
  p.start();
  clock.advanceTo(start + 10_000);
  p.stop();
  t.ok(sent.length >= 500 && sent.length <= 501, `${sent.length} frames in 10 s`);
  let worst = 0;
  sent.forEach((at, n) => (worst = Math.max(worst, Math.abs(at - (start + n * 20)))));
  t.ok(worst <= 2, `worst deviation from the absolute schedule ${worst.toFixed(2)} ms`);
  t.equal(p.resyncs, 0);
});

t.test('a non-looping source ends with onEnd and its duration', async (t) => {
  const clock = new LateClock(0.5);
  const frames: number[] = [];
  let endedMs = -1;
  const p = new Playout({ frameCount: 10, clock, onFrame: (i) => frames.push(i), onEnd: (ms) => (endedMs = ms) });
  p.start();
  clock.advanceTo(clock.now() + 1000);
  t.same(frames, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(endedMs, 200);
});

t.test('a long stall re-anchors instead of bursting the backlog; stop() halts output', async (t) => {
  const clock = new LateClock(0);
  let count = 0;
  let markers = 0;
  const p = new Playout({
    frameCount: 5, loop: true, clock, onFrame: (_i, m) => { count++; if (m) markers++; },
  });
  p.start();
  clock.advanceTo(clock.now() + 100); // 6 frames (t=0..100)
  const before = count;
  clock.time += 1000; // stall: the process was blocked for 1 s
  clock.advanceTo(clock.now());
  t.ok(count - before <= 2, `no burst after stall (${count - before} frames)`);
  t.equal(p.resyncs, 1);
  p.stop();
  const stopped = count;
  clock.advanceTo(clock.now() + 1000);
  t.equal(count, stopped, 'nothing after stop');
  t.equal(markers, 1, 'marker only on the first frame');
});
