// A development aid, not part of the PBX: preloaded into every node process of a test run, it blocks the event
// loop for STALL_MS (default 1200) at random intervals around STALL_EVERY ms (default 2000), the way GC or a
// starved CPU on a loaded CI machine does. Code whose timers take a late turn for a lost reply shows up at once:
//   STALL_MS=700 STALL_EVERY=3000 NODE_OPTIONS="--import ./scripts/stall-preload.mjs" npx tap
const ms = Number(process.env.STALL_MS ?? 1200);
const every = Number(process.env.STALL_EVERY ?? 2000);
const stall = () => {
  const end = Date.now() + ms;
  while (Date.now() < end); // busy: nothing else of this thread runs meanwhile
  setTimeout(stall, every * (0.5 + Math.random())).unref();
};
setTimeout(stall, 300).unref();
