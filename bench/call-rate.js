#!/usr/bin/env node
// bench/call-rate.js — call setup rate of the PBX, side by side with sipp talking to sipp directly.
//
//   sipp uac ──► dragon-pbx (own process: dist/bin/dragon-pbx.js, a trunk inbound 127.0.0.1/32, a `file:` CallHook
//                that connects every call to the uas) ──► sipp uas
//   sipp uac ──────────────────────────────────────────────────────► sipp uas          (the ceiling, same run)
//
// sipp's built-in `uac`/`uas` scenarios carry SDP but no RTP (the PBX still opens a relay session per call and plays
// its ringback into the void, as it would for a real call). Each path is stepped up through call rates (`-r`, `-m` =
// rate × step seconds, hold time `-d`); a step passes when under 0.1 % of its calls failed (sipp failures, calls
// never answered) AND sipp really reached the offered rate (answers arrived at ≥ 90 % of it — otherwise the
// system under test throttled sipp through its concurrent-call limit). Ramp: doubling until the first failure, then
// (full mode) a few bisection steps between the last pass and the first failure.
//
// Setup latency: a light-load probe per path (20 calls/s, sipp -trace_msg, microsecond timestamps; the PBX gets an
// unmeasured warm-up first): first INVITE sent → first 200 received per call; p50/p99 of the PBX path minus the
// same of the direct path = what the PBX adds. Under load the per-step p50/p99 come from -trace_rtt (ms resolution).
// Also reported: CPU time (user+sys, all threads) of the PBX process per completed call over its ramp, and of its
// main thread alone.
//
// Progress on stderr; one final stdout line `BENCH {json}`.
//
//   node bench/call-rate.js [--quick] [--hold-ms=500] [--step-secs=4] [--rates=100,200,400] [--only=pbx|direct]
//                           [--profile]   (runs the PBX under `node --cpu-prof` at the highest passing rate and
//                                          prints the top self-time functions on stderr)
//                           [--memory]    (instead of the ramp: heap an ended call holds while its transactions
//                                          live, from two heap snapshots of the PBX; BENCH name call-rate-memory)
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const arg = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const log = (...m) => process.stderr.write(`[call-rate] ${m.join(' ')}\n`);

const QUICK = flag('quick');
const HOLD_MS = Number(arg('hold-ms') ?? (QUICK ? 200 : 500));
const STEP_SECS = Number(arg('step-secs') ?? (QUICK ? 1.5 : 4));
const RECV_TIMEOUT_MS = QUICK ? 3000 : 8000;
const PROBE_CPS = 20; // the light load of the latency probe
const FAIL_LIMIT = 0.001; // "under 0.1 % failed calls"
const SUSTAIN = 0.9; // answers must arrive at ≥ 90 % of the offered rate
const TARGET_CPS = 1500;
// DPBX_DIST: another build output folder (default <repo>/dist), e.g. to compare two builds side by side.
const DIST = process.env.DPBX_DIST ? process.env.DPBX_DIST : join(root, 'dist');
const BINARY = join(DIST, 'bin', 'dragon-pbx.js');

function die(msg) {
  log(msg);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------------
// processes and ports
// ---------------------------------------------------------------------------------------------------------------

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Runs a command; resolves {code, out} at exit or after killAfterMs (SIGKILL, code null). */
function run(cmd, argv, { cwd, env, killAfterMs } = {}) {
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => { if (out.length < 1 << 20) out += d; });
    p.stderr.on('data', (d) => { if (out.length < 1 << 20) out += d; });
    const timer = killAfterMs ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
    p.on('error', (err) => { clearTimeout(timer); resolve({ code: -1, out: String(err) }); });
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function hasSipp() {
  return run('sipp', ['-v']).then((r) => /SIPp/.test(r.out));
}

/** One SIP OPTIONS over UDP; resolves true on any 2xx within `ms`. */
function optionsPing(port, ms = 500) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (v) => { clearTimeout(t); s.close(); resolve(v); };
    const t = setTimeout(() => done(false), ms);
    s.on('message', (m) => { if (/^SIP\/2\.0 2\d\d/.test(m.toString('latin1'))) done(true); });
    s.bind(0, '127.0.0.1', () => {
      const lp = s.address().port;
      const branch = `z9hG4bK-bench-${Math.random().toString(36).slice(2)}`;
      const msg = [
        `OPTIONS sip:ping@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${lp};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:bench@127.0.0.1>;tag=${branch.slice(-8)}`,
        `To: <sip:ping@127.0.0.1:${port}>`,
        `Call-ID: ${branch}@bench`,
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '', '',
      ].join('\r\n');
      s.send(msg, port, '127.0.0.1');
    });
  });
}

async function waitReady(port, child, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) die(`${what} exited (${child.exitCode}) before answering OPTIONS:\n${child.outText()}`);
    if (await optionsPing(port)) return;
  }
  die(`${what} did not answer OPTIONS within ${timeoutMs} ms:\n${child.outText()}`);
}

/** The PBX in its own process, on a temp config: one trunk (127.0.0.1/32) whose CallHook is a file: script. */
async function startPbx(work, uasPort, { profileDir, nodeFlags = [] } = {}) {
  const sipPort = await freeUdpPort();
  const config = {
    domains: {
      'bench.invalid': {
        domain_id: 1,
        clients: [],
        trunks: [{
          id: 1, name: 'bench', inbound: ['127.0.0.1/32'],
          dialplan: { '*': 'file:connect.json' },
          codecs: ['PCMU', 'PCMA'],
        }],
      },
    },
  };
  writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  writeFileSync(join(work, 'connect.json'),
    JSON.stringify([{ verb: 'connect', dest: { type: 'sip', address: `sip:{{to}}@127.0.0.1:${uasPort}`, timeout: 30 } }]));
  // A 16,000-port media range at a random place, so parallel runs rarely meet (the relay skips busy ports anyway).
  const rtpMin = 20000 + 2 * Math.floor(Math.random() * 12000);
  const env = {
    ...process.env,
    SIP_HOST: '127.0.0.1', SIP_PORT: String(sipPort), PUBLIC_IP: '127.0.0.1',
    CONFIG_FILE: join(work, 'config.json'), LOGLEVEL: 'warn', WEBPORT: '0',
    RTP_PORT_MIN: String(rtpMin), RTP_PORT_MAX: String(rtpMin + 16000),
  };
  const nodeArgs = [...nodeFlags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), BINARY];
  const child = spawn(process.execPath, nodeArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { if (out.length < 65536) out += d; });
  child.stderr.on('data', (d) => { if (out.length < 65536) out += d; });
  child.outText = () => out.slice(-4000);
  await waitReady(sipPort, child, 'dragon-pbx');
  const cpu = () => readCpuTicks(child.pid);
  return {
    port: sipPort,
    child,
    cpu,
    mainCpu: () => readCpuTicks(child.pid, child.pid),
    logText: () => out,
    // SIGTERM drains: calls sipp gave up on (an overloaded step) live on until their BYE times out (Timer F, 32 s).
    // A profiled PBX must get to exit by itself (the profile is written at exit), so it gets longer.
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), profileDir ? 45000 : 10000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/** utime+stime of a process (all threads), or of its thread `tid`, in clock ticks (Linux /proc; 0 elsewhere). */
function readCpuTicks(pid, tid) {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** sipp's built-in uas, answering every call, for the whole bench. */
async function startUas(work) {
  const port = await freeUdpPort();
  const child = spawn('sipp', ['-sn', 'uas', '-p', String(port), '-i', '127.0.0.1', '-nostdin',
    '-buff_size', String(1 << 21), '-max_socket', '65000'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out = (out + d).slice(-4000); });
  child.stderr.on('data', (d) => { out = (out + d).slice(-4000); });
  child.outText = () => out;
  // The uas answers INVITEs only: wait until its socket is bound.
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) die(`sipp uas exited (${child.exitCode}): ${out}`);
    if (await portTaken(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, child, stop: () => child.kill('SIGKILL') };
}

function portTaken(port) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(true));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// one sipp uac run
// ---------------------------------------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** The last cumulative row of sipp's -trace_stat CSV as {column: value}. */
function lastStatRow(file) {
  const lines = readFileSync(file, 'latin1').trim().split('\n');
  if (lines.length < 2) return {};
  const head = lines[0].split(';');
  const row = lines[lines.length - 1].split(';');
  const o = {};
  head.forEach((h, i) => (o[h] = row[i]));
  return o;
}

/**
 * sipp uac → target at `rate` calls/s for `calls` calls. Returns counts, the rate at which answers arrived, and
 * INVITE→200 latencies (ms, from -trace_rtt).
 */
async function uacStep(work, target, rate, calls) {
  const dir = mkdtempSync(join(work, `uac-${rate}-`));
  const port = await freeUdpPort();
  const launchMs = (calls / rate) * 1000;
  // A failing step must not eat the time budget: sipp gets the launch time plus one receive timeout and a margin.
  const killAfterMs = launchMs + HOLD_MS + (QUICK ? 1 : 3) * RECV_TIMEOUT_MS + (QUICK ? 2000 : 5000);
  const r = await run('sipp', [
    `127.0.0.1:${target}`, '-sn', 'uac', '-p', String(port), '-i', '127.0.0.1', '-nostdin',
    '-r', String(rate), '-rp', '1000', '-m', String(calls), '-d', String(HOLD_MS), '-l', '1000000',
    '-recv_timeout', String(RECV_TIMEOUT_MS), '-timeout', String(Math.ceil(killAfterMs / 1000) - 2) + 's',
    '-buff_size', String(1 << 21), '-max_socket', '65000',
    '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1',
  ], { cwd: dir, killAfterMs });
  const files = readdirSync(dir);
  const statFile = files.find((f) => /_\.csv$/.test(f));
  const rttFile = files.find((f) => /_rtt\.csv$/.test(f));
  const stat = statFile ? lastStatRow(join(dir, statFile)) : {};
  const ok = Number(stat['SuccessfulCall(C)'] ?? 0);
  const sippFailed = Number(stat['FailedCall(C)'] ?? 0);
  const retrans = Number(stat['Retransmissions(C)'] ?? 0);
  // Calls sipp never finished (killed, global timeout) are failures too.
  const failed = Math.max(calls - ok, sippFailed);
  const rtt = [];
  const answeredAt = [];
  if (rttFile) {
    for (const line of readFileSync(join(dir, rttFile), 'latin1').split('\n').slice(1)) {
      const [at, ms] = line.split(';');
      if (ms === undefined) continue;
      answeredAt.push(Number(at));
      rtt.push(Number(ms));
    }
  }
  rtt.sort((a, b) => a - b);
  answeredAt.sort((a, b) => a - b);
  const spanMs = answeredAt.length > 1 ? answeredAt[answeredAt.length - 1] - answeredAt[0] : 0;
  const answerRate = spanMs > 0 ? ((answeredAt.length - 1) * 1000) / spanMs : 0;
  rmSync(dir, { recursive: true, force: true });
  return {
    rate, calls, ok, failed, retrans, sippExit: r.code,
    answerRate: round(answerRate, 1),
    p50: percentile(rtt, 0.5), p99: percentile(rtt, 0.99),
    out: r.out,
  };
}

function stepPasses(s) {
  // Short steps at low rates: the span of answers is (calls-1)/rate, so judge the sustain test against that.
  const expected = ((s.calls - 1) / s.calls) * s.rate;
  return s.failed / s.calls < FAIL_LIMIT && s.answerRate >= SUSTAIN * expected;
}

async function ramp(work, label, target, rates, { between } = {}) {
  const steps = [];
  let best = 0;
  let firstFail = Infinity;
  const tryRate = async (rate) => {
    const calls = Math.max(20, Math.round(rate * STEP_SECS));
    if (between) await between();
    const s = await uacStep(work, target, rate, calls);
    const pass = stepPasses(s);
    steps.push({ rate, calls, ok: s.ok, failed: s.failed, retrans: s.retrans, answer_cps: s.answerRate,
      p50_ms: s.p50, p99_ms: s.p99, pass });
    log(`${label}: ${rate} calls/s × ${calls}: ${s.ok} ok, ${s.failed} failed, ${s.retrans} retransmissions, ` +
      `answers at ${s.answerRate}/s, INVITE→200 p50 ${s.p50} ms p99 ${s.p99} ms → ${pass ? 'pass' : 'FAIL'}`);
    if (!pass && s.ok === 0) log(`${label}: sipp said:\n${s.out.slice(-1500)}`);
    if (pass) best = Math.max(best, rate);
    else firstFail = Math.min(firstFail, rate);
    return pass;
  };
  for (const rate of rates) {
    if (!(await tryRate(rate))) break;
  }
  // Bisection between the last pass and the first failure (full mode): 3 steps narrow it to 1/8 of the gap.
  const bisections = QUICK ? 0 : 3;
  for (let i = 0; i < bisections && Number.isFinite(firstFail) && firstFail - best > Math.max(20, best * 0.05); i++) {
    const mid = Math.round((best + firstFail) / 2 / 10) * 10;
    if (mid <= best || mid >= firstFail) break;
    await tryRate(mid);
  }
  return { best, steps };
}

// ---------------------------------------------------------------------------------------------------------------
// latency probe: -trace_msg timestamps (µs)
// ---------------------------------------------------------------------------------------------------------------

async function latencyProbe(work, target, calls, rate) {
  const dir = mkdtempSync(join(work, 'probe-'));
  const port = await freeUdpPort();
  await run('sipp', [
    `127.0.0.1:${target}`, '-sn', 'uac', '-p', String(port), '-i', '127.0.0.1', '-nostdin',
    '-r', String(rate), '-m', String(calls), '-d', '0', '-recv_timeout', String(RECV_TIMEOUT_MS),
    '-timeout', '60s', '-trace_msg',
  ], { cwd: dir, killAfterMs: 70000 });
  const file = readdirSync(dir).find((f) => /_messages\.log$/.test(f));
  const sent = new Map();
  const lat = [];
  if (file) {
    const text = readFileSync(join(dir, file), 'latin1');
    // Entries: "----- YYYY-MM-DD HH:MM:SS.uuuuuu\nUDP message sent|received ...\n\n<message>"
    for (const entry of text.split(/^-{10,} /m)) {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})\s*\n(UDP message (sent|received))[^\n]*\n\s*\n([^\r\n]*)/.exec(entry);
      if (!m) continue;
      const t = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1000 + Number(m[5]) / 1000;
      const first = m[8];
      const cid = /^Call-ID:\s*(\S+)/im.exec(entry)?.[1];
      const cseq = /^CSeq:\s*\d+\s+(\w+)/im.exec(entry)?.[1];
      if (!cid) continue;
      if (m[7] === 'sent' && first.startsWith('INVITE ')) {
        if (!sent.has(cid)) sent.set(cid, t);
      } else if (m[7] === 'received' && /^SIP\/2\.0 200 /.test(first) && cseq === 'INVITE' && sent.has(cid)) {
        lat.push(t - sent.get(cid));
        sent.delete(cid); // first 200 only
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
  lat.sort((a, b) => a - b);
  return { n: lat.length, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
}

// ---------------------------------------------------------------------------------------------------------------
// CPU profile summary (--profile)
// ---------------------------------------------------------------------------------------------------------------

function summarizeProfile(dir, top = 25) {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return log('profile: no .cpuprofile written');
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  let total = 0;
  prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`;
    const us = dt[i] ?? 0;
    total += us;
    self.set(key, (self.get(key) ?? 0) + us);
  });
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  log(`profile ${join(dir, file)}: top ${top} self time of ${(total / 1e6).toFixed(1)} s sampled`);
  for (const [k, us] of rows) log(`  ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
}

// ---------------------------------------------------------------------------------------------------------------
// --memory: what an ended call leaves in the PBX's heap
// ---------------------------------------------------------------------------------------------------------------

/** Heap snapshot of the PBX (SIGUSR2, written into `dir`), reduced to its total in bytes by a child process. */
async function snapshotTotal(pbx, dir) {
  const before = new Set(readdirSync(dir));
  pbx.child.kill('SIGUSR2');
  let file;
  let last = -1;
  for (const deadline = Date.now() + 180000; Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 1000));
    file ??= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === last) break; // written out
    last = size;
  }
  if (file === undefined) die('the PBX wrote no heap snapshot');
  const r = await run(process.execPath, ['--max-old-space-size=8192', join(root, 'bench', 'lib', 'heap-total.js'), join(dir, file)]);
  rmSync(join(dir, file), { force: true });
  const total = Number(r.out.trim());
  if (!(total > 0)) die(`cannot read the heap snapshot: ${r.out.slice(0, 300)}`);
  return total;
}

/**
 * RFC 3261 keeps an ended call's transactions for 64*T1 (32 s); whatever they reach stays in the heap that long,
 * and the GC keeps marking it (at 1,500 calls/s, 48,000 calls' worth). Two equal batches of calls at MEMORY_CPS,
 * each followed by a heap snapshot (a full GC first), all inside that window: (second total − first) / batch =
 * bytes an ended call holds. No peer: sipp keeps no state per ended call to compare with.
 */
const MEMORY_CPS = 300;
async function memoryRun(work, uas, VERSION) {
  const batch = QUICK ? 600 : 1500;
  const pbx = await startPbx(work, uas.port, { nodeFlags: ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${work}`] });
  try {
    await uacStep(work, pbx.port, 100, 200); // warm-up (JIT, pools); its calls stay in both snapshots
    const a = await uacStep(work, pbx.port, MEMORY_CPS, batch);
    const first = await snapshotTotal(pbx, work);
    const b = await uacStep(work, pbx.port, MEMORY_CPS, batch);
    const second = await snapshotTotal(pbx, work);
    log(`heap after ${batch} calls: ${round(first / 1048576, 1)} MB, after ${2 * batch}: ${round(second / 1048576, 1)} MB`);
    if (a.failed > 0 || b.failed > 0) log(`warning: ${a.failed + b.failed} calls failed: the figure counts only the answered ones`);
    const answered = b.ok;
    return { name: 'call-rate-memory', version: VERSION, cps: MEMORY_CPS, batch, hold_ms: HOLD_MS,
      heap_first_mb: round(first / 1048576, 1), heap_second_mb: round(second / 1048576, 1),
      heap_kb_per_ended_call: answered > 0 ? round((second - first) / answered / 1024, 1) : null, failed: a.failed + b.failed };
  } finally {
    await pbx.stop();
  }
}

async function main() {
  if (!existsSync(BINARY)) die(`${BINARY} is missing: build first (npx tsc -p tsconfig.json)`);
  if (!(await hasSipp())) die('sipp is not installed (apt-get install sipp)');
  const { VERSION } = await import(pathToFileURL(join(DIST, 'lib', 'index.js')).href);
  const only = arg('only');
  const rates = arg('rates')?.split(',').map(Number)
    ?? (QUICK ? [50, 100, 200, 400, 800, 1600, 3200] : [50, 100, 200, 400, 800, 1200, 1600, 2400, 3200, 4800, 6400]);
  const directRates = arg('rates') ? rates : QUICK ? [800, 1600, 3200, 6400] : [400, 800, 1600, 3200, 4800, 6400, 9600];
  const work = mkdtempSync(join(tmpdir(), 'dpbx-call-rate-'));
  const uas = await startUas(work);
  let pbx;
  const cleanup = async () => {
    uas.stop();
    if (pbx) await pbx.stop();
    rmSync(work, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  log(`${QUICK ? 'quick' : 'full'} run: hold ${HOLD_MS} ms, steps of ${STEP_SECS} s, sipp uas on ${uas.port}`);
  if (flag('memory')) {
    try {
      process.stdout.write('BENCH ' + JSON.stringify(await memoryRun(work, uas, VERSION)) + '\n');
    } finally {
      await cleanup();
    }
    return;
  }
  try {
    // The figures depend on the machine being otherwise idle: its size and load go into the result.
    const result = { name: 'call-rate', version: VERSION, hold_ms: HOLD_MS, step_secs: STEP_SECS,
      cpus: availableParallelism(), loadavg_1m_start: round(loadavg()[0], 2) };

    let direct = { best: 0, steps: [] };
    let directProbe = { n: 0 };
    if (only !== 'pbx') {
      directProbe = await latencyProbe(work, uas.port, QUICK ? 30 : 200, PROBE_CPS);
      log(`direct: INVITE→200 at ${PROBE_CPS} calls/s: p50 ${round(directProbe.p50, 3)} ms p99 ${round(directProbe.p99, 3)} ms (${directProbe.n} calls)`);
      direct = await ramp(work, 'direct', uas.port, directRates, { between: () => new Promise((r) => setTimeout(r, 300)) });
    }

    let ours = { best: 0, steps: [] };
    let pbxProbe = { n: 0 };
    let cpuPerCallMs = null;
    let mainCpuPerCallMs = null;
    if (only !== 'direct') {
      pbx = await startPbx(work, uas.port);
      log(`dragon-pbx ${VERSION} (pid ${pbx.child.pid}) on 127.0.0.1:${pbx.port}`);
      // Warm-up (not measured): a fresh process runs its first calls through cold, unoptimised code.
      await uacStep(work, pbx.port, 50, QUICK ? 50 : 250);
      pbxProbe = await latencyProbe(work, pbx.port, QUICK ? 30 : 200, PROBE_CPS);
      log(`pbx: INVITE→200 at ${PROBE_CPS} calls/s: p50 ${round(pbxProbe.p50, 3)} ms p99 ${round(pbxProbe.p99, 3)} ms (${pbxProbe.n} calls)`);
      // Between steps: the PBX must be idle again (answers OPTIONS at once) so one step's backlog does not fail the next.
      const settle = async () => {
        const deadline = Date.now() + 20000;
        while (Date.now() < deadline && !(await optionsPing(pbx.port, 200)));
        await new Promise((r) => setTimeout(r, 300));
      };
      const cpu0 = pbx.cpu();
      const main0 = pbx.mainCpu();
      ours = await ramp(work, 'pbx', pbx.port, rates, { between: settle });
      const cpuTicks = pbx.cpu() - cpu0;
      const mainTicks = pbx.mainCpu() - main0;
      const callsDone = ours.steps.reduce((a, s) => a + s.ok, 0);
      // CPU (user+sys, all threads) of the PBX process per completed call over the ramp (clock ticks are 10 ms);
      // also its main thread alone (SIP, call engine): the rest is the relay workers and V8's GC/compiler threads.
      if (callsDone > 0 && cpuTicks > 0) cpuPerCallMs = round((cpuTicks * 10) / callsDone, 3);
      if (callsDone > 0 && mainTicks > 0) mainCpuPerCallMs = round((mainTicks * 10) / callsDone, 3);
      const errors = pbx.logText().split('\n').filter((l) => /"level":(50|60)/.test(l));
      if (errors.length) log(`pbx logged ${errors.length} error lines, e.g. ${errors[0].slice(0, 300)}`);
      await pbx.stop();
      pbx = undefined;

      if (flag('profile') && ours.best > 0) {
        const profDir = mkdtempSync(join(tmpdir(), 'dpbx-call-rate-prof-'));
        pbx = await startPbx(work, uas.port, { profileDir: profDir });
        const rate = Math.max(100, ours.best);
        log(`profile: ${rate} calls/s for ${STEP_SECS * 2} s under --cpu-prof`);
        await uacStep(work, pbx.port, rate, Math.round(rate * STEP_SECS * 2));
        await pbx.stop();
        pbx = undefined;
        summarizeProfile(profDir);
      }
    }

    const ratio = direct.best > 0 ? round(ours.best / direct.best, 3) : null;
    Object.assign(result, {
      ours_cps: ours.best,
      peer: 'sipp uac → sipp uas direct (SIPp 3.6.1)',
      peer_cps: direct.best,
      ratio,
      target_cps: TARGET_CPS,
      meets_target: ours.best >= TARGET_CPS || (ratio !== null && ratio >= 0.75),
      added_setup_ms_p50: round(pbxProbe.p50 - directProbe.p50, 3),
      added_setup_ms_p99: round(pbxProbe.p99 - directProbe.p99, 3),
      pbx_setup_ms_p50: round(pbxProbe.p50, 3),
      pbx_setup_ms_p99: round(pbxProbe.p99, 3),
      direct_setup_ms_p50: round(directProbe.p50, 3),
      direct_setup_ms_p99: round(directProbe.p99, 3),
      pbx_cpu_ms_per_call: cpuPerCallMs,
      pbx_main_thread_cpu_ms_per_call: mainCpuPerCallMs,
      ours_steps: ours.steps.map((s) => [s.rate, s.ok, s.failed, s.answer_cps, s.p50_ms, s.p99_ms]),
      peer_steps: direct.steps.map((s) => [s.rate, s.ok, s.failed, s.answer_cps, s.p50_ms, s.p99_ms]),
      steps_columns: ['rate', 'ok', 'failed', 'answer_cps', 'p50_ms', 'p99_ms'],
      loadavg_1m_end: round(loadavg()[0], 2),
    });
    await cleanup();
    process.stdout.write(`BENCH ${JSON.stringify(result)}\n`);
  } catch (err) {
    await cleanup();
    die(`failed: ${err?.stack ?? err}`);
  }
}

void main();
