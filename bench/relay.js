#!/usr/bin/env node
// bench/relay.js — N concurrent G.711 calls (two directions, 50 packets/s each, 172-byte PCMU packets) through
// our relay (../dist/media/index.js, worker_threads) and through RTPEngine (Debian rtpengine-daemon, userspace
// `--table=-1`, driven over its ng protocol) in the same run. Three processes per run so the measured one does
// only relaying: this orchestrator, the relay host (ours: a child process running createRelay(); peer: the
// rtpengine daemon) and a traffic generator (child process: sends and counts, never measured).
//
// Figures: CPU time (user+sys, all threads: process.cpuUsage() is getrusage(RUSAGE_SELF), so the worker_threads
// are in it; /proc/<pid>/stat for rtpengine) of the relaying process per relayed packet, loss, the largest N with
// 0 loss (N stepped up until loss or until the generator cannot keep the 20 ms pace), and memory (RSS growth) per
// call. Both targets are up together and take turns at each N (ours, then rtpengine), so the load of other
// processes on a shared machine falls on both alike; the ratio is taken over the N both ran. `--quick` runs two small steps (< 30 s). Progress on stderr; one final stdout line `BENCH {json}`.
//
//   node bench/relay.js [--quick] [--steps=100,500,1000] [--seconds=6] [--only=ours|peer] [--io=native|dgram|both]
// --io: UDP I/O of our relay (default: what the relay picks, native when media/native/build/dpbx_udp_io.node is
// built); `both` runs a second relay host with node:dgram (`ours_dgram_*`, ports split 20000–29999 / 30000–39999)
// in the same turns, and `io_gain` = its CPU per packet / ours over the steps both ran. The BENCH line names the
// I/O each of ours ran with (`io`, `io_dgram`). --warmup=S (default 2, 0 = none): every target first relays the
// first step's load for S seconds, not measured.
import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const role = arg('role');
const log = (...m) => process.stderr.write(`[relay-bench${role ? ':' + role : ''}] ${m.join(' ')}\n`);
const PTIME = 20;
const PAYLOAD = 160;

// ------------------------------------------------------------------------------------------------------------
// role: relay host (our relay in its own process; the orchestrator drives it over IPC)
// ------------------------------------------------------------------------------------------------------------
async function relayHost() {
  if (arg('io')) process.env.DPBX_RELAY_IO = arg('io');
  const { createRelay } = await import('../dist/media/index.js');
  const workers = Number(arg('workers') ?? availableParallelism());
  const [portMin, portMax] = (arg('ports') ?? '20000-39999').split('-').map(Number);
  const relay = await createRelay({
    rtpPortMin: portMin, rtpPortMax: portMax, bindAddress: '127.0.0.1', workers, mediaTimeoutMs: 0,
    socketBufferBytes: 1 << 18,
  });
  let sessions = [];
  const codecs = [{ pt: 0, name: 'PCMU', rate: 8000 }, { pt: 101, name: 'telephone-event', rate: 8000 }];
  process.on('message', async (m) => {
    try {
      if (m.op === 'setup') {
        // one call = one session with two legs (caller A, callee B), bridged; peers are the generator's sockets
        const ports = [];
        for (let i = 0; i < m.calls; i++) {
          const s = await relay.createSession();
          const peerA = m.peers[(2 * i) % m.peers.length];
          const peerB = m.peers[(2 * i + 1) % m.peers.length];
          const a = await s.addLeg({ id: 'A', remote: { address: '127.0.0.1', port: peerA }, codecs, rtcpMux: true });
          const b = await s.addLeg({ id: 'B', remote: { address: '127.0.0.1', port: peerB }, codecs, rtcpMux: true });
          await s.bridge('A', 'B');
          sessions.push(s);
          ports.push([a.localPort, b.localPort]);
        }
        process.send({ id: m.id, ports });
      } else if (m.op === 'teardown') {
        await Promise.all(sessions.map((s) => s.close()));
        sessions = [];
        process.send({ id: m.id });
      } else if (m.op === 'usage') {
        const c = process.cpuUsage();
        process.send({ id: m.id, cpuUs: c.user + c.system, rss: process.memoryUsage().rss });
      } else if (m.op === 'exit') {
        await relay.close();
        process.send({ id: m.id });
        setTimeout(() => process.exit(0), 50);
      }
    } catch (err) {
      process.send({ id: m.id, error: String(err && err.stack ? err.stack : err) });
    }
  });
  process.send({ ready: true, io: relay.ioMode ?? 'dgram' });
}

// ------------------------------------------------------------------------------------------------------------
// role: traffic generator
// ------------------------------------------------------------------------------------------------------------
async function generator() {
  const SOCKETS = Number(arg('sockets') ?? 64);
  const socks = [];
  for (let i = 0; i < SOCKETS; i++) {
    const s = createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    try {
      s.setRecvBufferSize(1 << 21);
      s.setSendBufferSize(1 << 21);
    } catch { /* capped */ }
    socks.push(s);
  }
  // received packets are attributed to a stream by the relay port they come from
  let rxByPort = new Map();
  let rxTotal = 0;
  for (const s of socks) {
    s.on('message', (msg, rinfo) => {
      rxTotal++;
      const k = rinfo.port;
      rxByPort.set(k, (rxByPort.get(k) ?? 0) + 1);
    });
  }
  process.on('message', async (m) => {
    if (m.op === 'run') {
      // m.streams: [{ sock: index into peers, to: relay port, from: relay port that will send it back }]
      const streams = m.streams.map((st, i) => {
        const buf = Buffer.alloc(12 + PAYLOAD, 0xff);
        buf[0] = 0x80;
        buf[1] = 0;
        buf.writeUInt32BE((0x10000 + i) >>> 0, 8);
        return { sock: socks[st.sock], to: st.to, buf, seq: i & 0xffff, ts: 0, sent: 0 };
      });
      rxByPort = new Map();
      rxTotal = 0;
      const n = streams.length;
      const start = performance.now() + 50;
      const end = start + m.seconds * 1000;
      // each stream has its own phase in the 20 ms period so the load is spread evenly, not bursty
      let next = 0; // next stream index to send within the current period
      let period = 0;
      let lagMs = 0;
      let sends = 0;
      await new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          if (now >= end) return resolve();
          for (;;) {
            const due = start + period * PTIME + (next * PTIME) / n;
            if (due > now) break;
            if (now - due > lagMs) lagMs = now - due;
            const st = streams[next];
            st.buf.writeUInt16BE(st.seq, 2);
            st.buf.writeUInt32BE(st.ts >>> 0, 4);
            st.seq = (st.seq + 1) & 0xffff;
            st.ts = (st.ts + PAYLOAD) >>> 0;
            st.sock.send(st.buf, st.to, '127.0.0.1');
            st.sent++;
            sends++;
            if (++next === n) {
              next = 0;
              period++;
            }
          }
          setTimeout(tick, 1);
        };
        setTimeout(tick, Math.max(0, start - performance.now()));
      });
      await new Promise((r) => setTimeout(r, 400)); // drain
      const sent = streams.reduce((a, s) => a + s.sent, 0);
      const expected = Math.floor((m.seconds * 1000) / PTIME) * n;
      process.send({ id: m.id, sent, expected, received: rxTotal, lagMs, sends });
    } else if (m.op === 'peers') {
      process.send({ id: m.id, peers: socks.map((s) => s.address().port) });
    } else if (m.op === 'exit') {
      for (const s of socks) s.close();
      process.send({ id: m.id });
      setTimeout(() => process.exit(0), 50);
    }
  });
  process.send({ ready: true });
}

// ------------------------------------------------------------------------------------------------------------
// orchestrator
// ------------------------------------------------------------------------------------------------------------
function child(roleName, extra = []) {
  const here = fileURLToPath(import.meta.url);
  const execArgv = roleName === 'relay-host' && process.env.RELAY_BENCH_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.RELAY_BENCH_PROF}`] : [];
  const proc = fork(here, [`--role=${roleName}`, ...extra], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  let nextId = 1;
  const pending = new Map();
  let readyResolve;
  const ready = new Promise((r) => (readyResolve = r));
  proc.on('message', (m) => {
    if (m.ready) return readyResolve(m);
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m);
  });
  proc.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`${roleName} exited with ${code}`));
    pending.clear();
  });
  return {
    proc,
    ready,
    call(msg) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        proc.send({ ...msg, id });
      });
    },
    async exit() {
      try {
        await Promise.race([this.call({ op: 'exit' }), new Promise((r) => setTimeout(r, 3000))]);
      } catch { /* gone */ }
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

function procStat(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const cpuUs = ((Number(rest[11]) + Number(rest[12])) / 100) * 1e6;
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  return { cpuUs, rss };
}

/** One step: N calls set up on the target, traffic for `seconds`, figures. */
async function runStep(target, gen, peers, calls, seconds) {
  const before = await target.usage();
  const ports = await target.setup(calls, peers);
  const afterSetup = await target.usage();
  // streams: caller → A port (comes back from B port to the callee socket) and callee → B port
  const streams = [];
  ports.forEach(([pa, pb], i) => {
    streams.push({ sock: (2 * i) % peers.length, to: pa });
    streams.push({ sock: (2 * i + 1) % peers.length, to: pb });
  });
  // a short warm-up so latching happens and JIT settles, not measured
  await gen.call({ op: 'run', streams, seconds: 0.5 });
  const u0 = await target.usage();
  const r = await gen.call({ op: 'run', streams, seconds });
  const u1 = await target.usage();
  await target.teardown();
  const cpuUs = u1.cpuUs - u0.cpuUs;
  const loss = Math.max(0, r.sent - r.received);
  const step = {
    calls,
    pps: Math.round(r.sent / seconds),
    sent: r.sent,
    received: r.received,
    loss,
    lossPct: r.sent ? Math.round((loss / r.sent) * 1e6) / 1e4 : 0,
    cpuUsPerPacket: r.received ? Math.round((cpuUs / r.received) * 1000) / 1000 : null,
    cpuPct: Math.round((cpuUs / (seconds * 1e6)) * 1000) / 10,
    mbPerCall: Math.round(((Math.max(afterSetup.rss, u1.rss) - before.rss) / calls / 1048576) * 1e4) / 1e4,
    genLagMs: Math.round(r.lagMs * 10) / 10,
    // share of the scheduled packets the generator managed to send (it shares the machine with the relay)
    genPace: r.expected ? Math.round((r.sent / r.expected) * 1000) / 1000 : 1,
  };
  return step;
}

async function oursTarget(name = 'ours', extra = []) {
  const host = child('relay-host', extra);
  const { io } = await host.ready;
  return {
    name,
    io,
    async usage() {
      const u = await host.call({ op: 'usage' });
      return { cpuUs: u.cpuUs, rss: u.rss };
    },
    async setup(calls, peers) {
      return (await host.call({ op: 'setup', calls, peers })).ports;
    },
    async teardown() {
      await host.call({ op: 'teardown' });
    },
    exit: () => host.exit(),
  };
}

async function peerTarget() {
  const { startRtpengine, rtpengineVersion } = await import('./lib/rtpengine.js');
  const eng = await startRtpengine({ portMin: 40000, portMax: 59999, threads: availableParallelism() });
  let callIds = [];
  const sdp = (port, sess) =>
    `v=0\r\no=- ${sess} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp-mux\r\na=sendrecv\r\n`;
  const mport = (s) => Number(/m=audio (\d+)/.exec(s)[1]);
  let gen = 0;
  return {
    name: 'peer',
    version: rtpengineVersion(),
    async usage() {
      return procStat(eng.pid);
    },
    async setup(calls, peers) {
      const ports = [];
      gen++;
      // a few ng requests in flight at once: setup time is not measured, but should not take minutes
      const one = async (i) => {
        const callId = `bench-${gen}-${i}`;
        const offer = await eng.ng.request('offer', {
          'call-id': callId, 'from-tag': 'a', sdp: sdp(peers[(2 * i) % peers.length], 1000 + i), 'rtcp-mux': ['accept'],
        });
        const answer = await eng.ng.request('answer', {
          'call-id': callId, 'from-tag': 'a', 'to-tag': 'b', sdp: sdp(peers[(2 * i + 1) % peers.length], 5000 + i), 'rtcp-mux': ['accept'],
        });
        // the caller sends to the port in the answer rtpengine gives it; the callee to the one in the offer
        ports[i] = [mport(answer.sdp), mport(offer.sdp)];
        callIds.push(callId);
      };
      for (let i = 0; i < calls; i += 32) {
        await Promise.all(Array.from({ length: Math.min(32, calls - i) }, (_, k) => one(i + k)));
      }
      return ports;
    },
    async teardown() {
      for (let i = 0; i < callIds.length; i += 32) {
        await Promise.all(callIds.slice(i, i + 32).map((id) => eng.ng.request('delete', { 'call-id': id }).catch(() => undefined)));
      }
      callIds = [];
      await new Promise((r) => setTimeout(r, 300));
    },
    exit: () => eng.stop(),
  };
}

/**
 * One step of one target's sweep. A target's sweep ends after its first step with loss, or when the generator
 * could not keep its pace.
 */
async function sweepStep(target, gen, peers, calls, seconds, results) {
  log(`${target.name}: ${calls} calls (${calls * 100} packets/s) for ${seconds} s ...`);
  const r = await runStep(target, gen, peers, calls, seconds);
  log(`${target.name}: ${calls} calls → loss ${r.loss}/${r.sent} (${r.lossPct}%), ${r.cpuUsPerPacket} µs CPU/packet, ` +
    `${r.cpuPct}% of a core, ${r.mbPerCall} MB/call, generator pace ${r.genPace} (worst lag ${r.genLagMs} ms)`);
  results.push(r);
  if (r.genPace < 0.98) {
    // the generator itself fell behind for good (it shares the machine): it sent less than scheduled and its
    // own receive buffers overflow, so loss in this step cannot be blamed on the relay; the sweep ends here
    log(`${target.name}: the generator cannot keep the 20 ms pace here (sent ${Math.round(r.genPace * 100)}% of schedule): stopping`);
    r.generatorLimited = true;
    return false;
  }
  return r.loss === 0;
}

/** A step whose CPU per received packet is meaningful: traffic arrived, at most 1% of it lost. */
const measures = (r) => r.received > 0 && r.loss <= r.sent * 0.01;

/** Packet-weighted CPU µs per relayed packet over `results` (each step's CPU/packet is valid with or without loss). */
function cpuPerPacket(results) {
  const pk = results.reduce((a, r) => a + r.received, 0);
  const cpu = results.reduce((a, r) => a + r.cpuUsPerPacket * r.received, 0);
  return pk ? Math.round((cpu / pk) * 1000) / 1000 : null;
}

function summarise(results) {
  const clean = results.filter((r) => r.loss === 0 && !r.generatorLimited);
  const best = clean.length ? clean[clean.length - 1] : null;
  // CPU per packet over the steps that measure it: at most 1% loss, whether or not the generator kept its exact
  // pace (excluding every such step made the figure swing between the low-load and the high-load cost); a step
  // with heavy loss is left out (the relay's work on packets lost later inflates its CPU per received packet)
  const use = results.filter(measures);
  const cpuUsPerPacket = cpuPerPacket(use.length ? use : results.filter((r) => r.received > 0));
  return {
    maxCallsZeroLoss: best ? best.calls : 0,
    cpuUsPerPacket,
    // at 100 packets/s per call: how many calls one fully busy core would carry
    callsPerCoreEst: cpuUsPerPacket ? Math.round(1e6 / (cpuUsPerPacket * 100)) : null,
    // RSS growth per call from the largest step: small steps are dominated by the first sessions' warm-up
    mbPerCall: results.reduce((m, r) => (!m || r.calls > m.calls ? r : m), null)?.mbPerCall ?? null,
    limitedBy: results.at(-1)?.generatorLimited ? 'generator' : results.at(-1)?.loss > 0 ? 'loss' : 'steps',
  };
}

async function main() {
  const quick = args.includes('--quick');
  const only = arg('only');
  const seconds = Number(arg('seconds') ?? (quick ? 2 : 6));
  const steps = (arg('steps') ?? (quick ? '50,200' : '100,250,500,1000,1500,2000,3000,4000')).split(',').map(Number);
  const gen = child('generator');
  await gen.ready;
  const { peers } = await gen.call({ op: 'peers' });
  const out = { name: 'relay', quick, seconds, cores: availableParallelism() };
  // Both targets run side by side and take turns step by step (ours, then RTPEngine, at the same N), so the
  // load other processes put on the shared machine hits both alike; each has its own half of the port range.
  const sweeps = [];
  try {
    const io = arg('io');
    if (only !== 'peer') {
      const split = io === 'both';
      const t = await oursTarget('ours', [...(io && !split ? [`--io=${io}`] : split ? ['--io=native'] : []), ...(split ? ['--ports=20000-29999'] : [])]);
      out.io = t.io;
      sweeps.push({ name: 'ours', target: t, results: [], running: true });
      if (split) {
        const d = await oursTarget('ours_dgram', ['--io=dgram', '--ports=30000-39999']);
        out.io_dgram = d.io;
        sweeps.push({ name: 'ours_dgram', target: d, results: [], running: true });
      }
    }
    if (only !== 'ours') {
      try {
        const t = await peerTarget();
        out.peer = `rtpengine ${t.version.replace(/^Version:\s*/, '')} userspace`;
        sweeps.push({ name: 'peer', target: t, results: [], running: true });
      } catch (err) {
        log(`rtpengine: ${err.message}`);
        out.peer = 'rtpengine (unavailable)';
        out.peer_error = err.message;
      }
    }
    // Warm-up, not measured: every target relays the first step's load once before the sweep. Our relay is JS
    // (V8 compiles the packet path while it runs, on a background thread of the measured process); rtpengine is C
    // and gets the same turn, so the first measured step compares steady states of both.
    const warmup = Number(arg('warmup') ?? 2);
    if (warmup > 0) {
      for (const sw of sweeps) {
        log(`${sw.name}: warm-up (not measured)`);
        try {
          await runStep(sw.target, gen, peers, steps[0], warmup);
        } catch (err) {
          log(`${sw.name}: warm-up: ${err.message}`);
        }
      }
      out.warmup_s = warmup;
    }
    for (const calls of steps) {
      for (const sw of sweeps) {
        if (!sw.running) continue;
        try {
          sw.running = await sweepStep(sw.target, gen, peers, calls, seconds, sw.results);
        } catch (err) {
          log(`${sw.name}: ${err.message}`);
          sw.running = false;
          if (sw.name === 'peer') out.peer_error = err.message;
          else throw err;
        }
      }
      if (!sweeps.some((sw) => sw.running)) break;
    }
    for (const sw of sweeps) {
      if (!sw.results.length) continue;
      const s = summarise(sw.results);
      out[`${sw.name}_cpu_us_per_packet`] = s.cpuUsPerPacket;
      out[`${sw.name}_max_calls_zero_loss`] = s.maxCallsZeroLoss;
      out[`${sw.name}_calls_per_core_est`] = s.callsPerCoreEst;
      out[`${sw.name}_mb_per_call`] = s.mbPerCall;
      out[`${sw.name}_limited_by`] = s.limitedBy;
      out[`${sw.name}_steps`] = sw.results.map((r) => [r.calls, r.loss, r.cpuUsPerPacket]);
    }
    // ratio > 1: we spend less CPU per packet than RTPEngine. Compared over the steps both ran (same N) with at
    // most 1% loss on both sides, so one side's extra low- or high-load step cannot tilt it.
    const [ours, peer, dg] = [sweeps.find((s) => s.name === 'ours'), sweeps.find((s) => s.name === 'peer'), sweeps.find((s) => s.name === 'ours_dgram')];
    if (ours && dg) {
      const common = ours.results.filter(measures).map((r) => r.calls).filter((n) => dg.results.some((p) => p.calls === n && measures(p)));
      const o = cpuPerPacket(ours.results.filter((r) => common.includes(r.calls)));
      const d = cpuPerPacket(dg.results.filter((r) => common.includes(r.calls)));
      if (o && d) out.io_gain = Math.round((d / o) * 100) / 100;
    }
    if (ours && peer) {
      const common = ours.results.filter(measures).map((r) => r.calls).filter((n) => peer.results.some((p) => p.calls === n && measures(p)));
      const pick = (sw) => sw.results.filter((r) => common.includes(r.calls));
      const o = cpuPerPacket(pick(ours));
      const p = cpuPerPacket(pick(peer));
      if (o && p) {
        out.ratio = Math.round((p / o) * 100) / 100;
        out.ratio_steps = common;
      }
    }
  } finally {
    for (const sw of sweeps) await sw.target.exit();
    await gen.exit();
  }
  process.stdout.write(`BENCH ${JSON.stringify(out)}\n`);
}

if (role === 'relay-host') await relayHost();
else if (role === 'generator') await generator();
else {
  main().then(
    () => process.exit(0),
    (err) => {
      log(err.stack ?? String(err));
      process.exit(1);
    },
  );
}
