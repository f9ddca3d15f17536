// RTP load generator for bench/transcode.js, run as a CHILD process (child_process.fork) so its CPU is not
// counted against the media server under test. For each call it owns two UDP sockets on 127.0.0.1: side A sends
// one packet of codec X every 20 ms, side B one packet of codec Y; both count what they receive (per payload type).
//
// IPC (process.send / 'message'):
//   parent → {type:'open', calls}                       child → {type:'opened', ports:[[aPort, bPort], ...]}
//   parent → {type:'run', targets:[[aDest, bDest], ...], seconds, warmTicks?, a:{pt, ticks, payloads:[base64]}, b:{...}}
//   child  → {type:'running'} after warmTicks (default 100 = 2 s) of warm-up, then {type:'done', sentA, sentB, recvA, recvB, ptsA, ptsB,
//            lateTicks} at the end (recv* counted only during the measured window, sent* likewise)
//   parent → {type:'close'}
import { createSocket } from 'node:dgram';

const socks = [];
let recvA = 0;
let recvB = 0;
let counting = false;
const ptsA = {};
const ptsB = {};

function open(calls) {
  return Promise.all(
    Array.from({ length: calls * 2 }, (_, i) => new Promise((resolve) => {
      const s = createSocket('udp4');
      s.on('message', (m) => {
        // RTP only: RTCP (packet types 200-204, e.g. reports a server generates) may reach a neighbour socket
        if (!counting || m.length < 12 || (m[1] >= 200 && m[1] <= 204)) return;
        const pt = m[1] & 0x7f;
        if (i % 2 === 0) {
          recvA++;
          ptsA[pt] = (ptsA[pt] ?? 0) + 1;
        } else {
          recvB++;
          ptsB[pt] = (ptsB[pt] ?? 0) + 1;
        }
      });
      s.bind(0, '127.0.0.1', () => {
        try {
          s.setRecvBufferSize(1 << 20);
          s.setSendBufferSize(1 << 20);
        } catch {
          /* OS cap */
        }
        socks[i] = s;
        resolve(s.address().port);
      });
    })),
  );
}

function packet(pt, seq, ts, ssrc, payload) {
  const b = Buffer.allocUnsafe(12 + payload.length);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  payload.copy(b, 12);
  return b;
}

function run(msg) {
  const a = { ...msg.a, payloads: msg.a.payloads.map((p) => Buffer.from(p, 'base64')) };
  const b = { ...msg.b, payloads: msg.b.payloads.map((p) => Buffer.from(p, 'base64')) };
  const n = msg.targets.length;
  const warm = msg.warmTicks ?? 100; // 20 ms ticks before counting (V8 tier-up of the server's codec path)
  const total = warm + Math.round(msg.seconds * 50);
  let tick = 0;
  let sentA = 0;
  let sentB = 0;
  let lateTicks = 0;
  let started = false;
  const t0 = performance.now();
  const sendTick = () => {
    const i = tick % a.payloads.length;
    const j = tick % b.payloads.length;
    for (let c = 0; c < n; c++) {
      const [aDest, bDest] = msg.targets[c];
      socks[2 * c].send(packet(a.pt, tick, tick * a.ticks, 0xa0000000 + c, a.payloads[i]), aDest, '127.0.0.1');
      socks[2 * c + 1].send(packet(b.pt, tick, tick * b.ticks, 0xb0000000 + c, b.payloads[j]), bDest, '127.0.0.1');
      if (counting) {
        sentA++;
        sentB++;
      }
    }
    tick++;
    if (tick >= warm && !started) {
      started = true;
      counting = true;
      process.send({ type: 'running' });
    }
  };
  const loop = () => {
    const due = Math.floor((performance.now() - t0) / 20) + 1;
    // starved of CPU (shared machine): never burst more than 3 ticks to catch up — skipped ticks are not sent
    // (the server sees them as loss) and are reported as lateTicks
    if (due - tick > 3) {
      lateTicks += due - 3 - tick;
      tick = due - 3;
    }
    while (tick < due && tick < total) sendTick();
    if (tick >= total) {
      // let the last packets come back (until 300 ms without any, at most 3 s), then stop counting
      let last = recvA + recvB;
      let quiet = 0;
      const settle = setInterval(() => {
        const now = recvA + recvB;
        quiet = now === last ? quiet + 1 : 0;
        last = now;
        if (quiet >= 3 || performance.now() - t0 > total * 20 + 3000) {
          clearInterval(settle);
          counting = false;
          process.send({ type: 'done', sentA, sentB, recvA, recvB, ptsA, ptsB, lateTicks });
        }
      }, 100);
      return;
    }
    setTimeout(loop, Math.max(0, t0 + tick * 20 - performance.now()));
  };
  loop();
}

process.on('message', async (msg) => {
  if (msg.type === 'open') process.send({ type: 'opened', ports: chunk(await open(msg.calls)) });
  else if (msg.type === 'run') {
    recvA = recvB = 0;
    for (const k of Object.keys(ptsA)) delete ptsA[k];
    for (const k of Object.keys(ptsB)) delete ptsB[k];
    run(msg);
  } else if (msg.type === 'close') {
    for (const s of socks) s.close();
    process.exit(0);
  }
});

function chunk(ports) {
  const out = [];
  for (let i = 0; i < ports.length; i += 2) out.push([ports[i], ports[i + 1]]);
  return out;
}
