// Shared by the bench scripts (bench/transcode.js, bench/relay.js): start Debian's `rtpengine` (rtpengine-daemon)
// in userspace mode on free loopback ports and talk to it over the ng control protocol (bencode dictionaries
// over UDP, each message prefixed by a cookie; see rtpengine's README "The NG Control Protocol").
//
//   const eng = await startRtpengine({ portMin, portMax });       // spawns, waits for `ping` → `pong`
//   const r = await eng.ng.request('offer', { 'call-id': 'c1', 'from-tag': 'a', sdp, codec: { transcode: ['opus'] } });
//   r.sdp ...; await eng.stop();                                  // SIGTERM, then SIGKILL after 2 s
//   eng.cpuSeconds()                                               // user+sys CPU of the daemon (from /proc)
//
// Plain JS, no dependencies. Strings in replies are decoded as UTF-8 (SDP is ASCII).
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** bencode: strings (and Buffers) as byte strings, integers, arrays as lists, objects as dictionaries (sorted keys). */
export function bencode(v) {
  const parts = [];
  const walk = (x) => {
    if (Buffer.isBuffer(x)) parts.push(Buffer.from(`${x.length}:`), x);
    else if (typeof x === 'string') {
      const b = Buffer.from(x, 'utf8');
      parts.push(Buffer.from(`${b.length}:`), b);
    } else if (typeof x === 'number' || typeof x === 'boolean') parts.push(Buffer.from(`i${Math.trunc(Number(x))}e`));
    else if (Array.isArray(x)) {
      parts.push(Buffer.from('l'));
      x.forEach(walk);
      parts.push(Buffer.from('e'));
    } else if (x && typeof x === 'object') {
      parts.push(Buffer.from('d'));
      for (const k of Object.keys(x).sort()) {
        if (x[k] === undefined) continue;
        walk(k);
        walk(x[k]);
      }
      parts.push(Buffer.from('e'));
    } else throw new TypeError(`bencode: unsupported ${typeof x}`);
  };
  walk(v);
  return Buffer.concat(parts);
}

/** Decodes one bencoded value from `buf` at `pos`; returns [value, nextPos]. Byte strings become JS strings. */
export function bdecode(buf, pos = 0) {
  const c = buf[pos];
  if (c === 0x69 /* i */) {
    const end = buf.indexOf(0x65, pos);
    return [Number(buf.toString('latin1', pos + 1, end)), end + 1];
  }
  if (c === 0x6c /* l */) {
    const out = [];
    pos++;
    while (buf[pos] !== 0x65) {
      const [v, p] = bdecode(buf, pos);
      out.push(v);
      pos = p;
    }
    return [out, pos + 1];
  }
  if (c === 0x64 /* d */) {
    const out = {};
    pos++;
    while (buf[pos] !== 0x65) {
      const [k, p] = bdecode(buf, pos);
      const [v, p2] = bdecode(buf, p);
      out[k] = v;
      pos = p2;
    }
    return [out, pos + 1];
  }
  const colon = buf.indexOf(0x3a, pos);
  if (colon < 0) throw new Error(`bdecode: bad input at ${pos}`);
  const len = Number(buf.toString('latin1', pos, colon));
  return [buf.toString('utf8', colon + 1, colon + 1 + len), colon + 1 + len];
}

/** ng protocol client over UDP. */
export class NgClient {
  constructor(port, host = '127.0.0.1', timeoutMs = 5000) {
    this.port = port;
    this.host = host;
    this.timeoutMs = timeoutMs;
    this.pending = new Map();
    this.sock = createSocket('udp4');
    this.sock.on('message', (msg) => {
      const sp = msg.indexOf(0x20);
      if (sp < 0) return;
      const cookie = msg.toString('latin1', 0, sp);
      const p = this.pending.get(cookie);
      if (!p) return;
      this.pending.delete(cookie);
      clearTimeout(p.timer);
      try {
        p.resolve(bdecode(msg, sp + 1)[0]);
      } catch (e) {
        p.reject(e);
      }
    });
    this.sock.unref();
  }

  /** Sends `{command, ...params}`; resolves with the reply dictionary, rejects on `result: error` or timeout. */
  request(command, params = {}) {
    const cookie = randomBytes(6).toString('hex');
    const msg = Buffer.concat([Buffer.from(cookie + ' '), bencode({ ...params, command })]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cookie);
        reject(new Error(`rtpengine ng ${command}: no reply in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(cookie, {
        timer,
        resolve: (r) => (r && r.result === 'error' ? reject(new Error(`rtpengine ng ${command}: ${r['error-reason']}`)) : resolve(r)),
        reject,
      });
      this.sock.send(msg, this.port, this.host, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(cookie);
          reject(err);
        }
      });
    });
  }

  close() {
    try {
      this.sock.close();
    } catch {
      /* closed */
    }
  }
}

/** A UDP port that was free a moment ago on 127.0.0.1 (OS-assigned). */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Path of the rtpengine binary, or null. */
export function rtpengineBinary() {
  for (const p of ['/usr/bin/rtpengine', '/usr/sbin/rtpengine']) {
    if (spawnSync('test', ['-x', p]).status === 0) return p;
  }
  const r = spawnSync('sh', ['-c', 'command -v rtpengine'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** `rtpengine --version` first line, or ''. */
export function rtpengineVersion(bin = rtpengineBinary()) {
  if (!bin) return '';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
}

/**
 * Starts rtpengine in the foreground, userspace only (`--table=-1`), on 127.0.0.1, ng on a free UDP port,
 * media ports [portMin, portMax]. Options: { portMin, portMax, threads?, logLevel?, extraArgs?, log? }.
 * Resolves once it answers `ping`. Returns { proc, pid, ngPort, ng, stop(), cpuSeconds() }.
 */
export async function startRtpengine(opts = {}) {
  const bin = rtpengineBinary();
  if (!bin) throw new Error('rtpengine not installed (Debian package rtpengine-daemon)');
  const ngPort = opts.ngPort ?? (await freeUdpPort());
  const args = [
    '--config-file=none',
    '--foreground',
    '--log-stderr',
    `--log-level=${opts.logLevel ?? 3}`,
    '--table=-1',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--port-min=${opts.portMin ?? 30000}`,
    `--port-max=${opts.portMax ?? 39999}`,
    ...(opts.threads ? [`--num-threads=${opts.threads}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (opts.log) opts.log(d.toString().trimEnd());
  });
  let exited = null;
  proc.once('exit', (code, sig) => (exited = { code, sig }));
  const ng = new NgClient(ngPort, '127.0.0.1', 1000);
  const deadline = Date.now() + 10000;
  for (;;) {
    if (exited) throw new Error(`rtpengine exited (${exited.code ?? exited.sig}): ${stderr.slice(-500)}`);
    try {
      const r = await ng.request('ping');
      if (r.result === 'pong') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`rtpengine did not answer ping: ${stderr.slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  ng.timeoutMs = 5000;
  const clk = 100; // USER_HZ on Linux
  return {
    proc,
    pid: proc.pid,
    ngPort,
    ng,
    stderr: () => stderr,
    /** user+sys CPU seconds consumed by the daemon so far (all its threads). */
    cpuSeconds() {
      const f = readFileSync(`/proc/${proc.pid}/stat`, 'latin1');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(rest[11]) + Number(rest[12])) / clk; // fields 14 utime, 15 stime
    },
    stop() {
      ng.close();
      if (exited) return Promise.resolve();
      return new Promise((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
}
