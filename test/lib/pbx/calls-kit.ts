/**
 * Shared pieces of the calls-*.test.ts interop tests (not a test file): a PBX on loopback with its own RTP port
 * range, sipp peers that are killed at teardown, an RTP sink standing in for a caller's media socket, the
 * StatusHook collector and the payloads of sipp's bundled g711a.pcap.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { parseMessage } from '../../../sip-stack/index.js';
import { createPbx, type Pbx } from '../../../lib/index.js';
import { fixturePath } from '../../helpers/env.js';
import { freeUdpPort, spawnSipp, waitFor, type HasTeardown, type SippResult } from './peers.js';

export { freeUdpPort, waitFor };

export interface StatusEvent {
  callId: string;
  event: string;
  timestamp?: unknown;
  label?: string;
  [k: string]: unknown;
}

/** StatusHook bodies in arrival order (pass `hook` as an in-process statusHook). */
export class StatusLog {
  readonly bodies: StatusEvent[] = [];
  readonly hook = (body: unknown): Record<string, never> => {
    this.bodies.push(body as StatusEvent);
    return {};
  };

  /** Event names in arrival order (optionally of the bodies `filter` keeps). */
  names(filter?: (b: StatusEvent) => boolean): string[] {
    return this.bodies.filter((b) => !filter || filter(b)).map((b) => b.event);
  }

  /** The bodies of one call (by its SIP Call-ID), in arrival order. */
  forCall(callId: string): StatusEvent[] {
    return this.bodies.filter((b) => b.callId === callId);
  }
}

export interface TestPbx {
  pbx: Pbx;
  /** The PBX's UDP SIP port on 127.0.0.1. */
  port: number;
  /** Open media sessions in the relay (the relay is private to Pbx; read for the "nothing left open" checks). */
  relaySessions(): number;
}

/** A PBX on 127.0.0.1 with an OS-assigned SIP port and a random RTP range of 200 ports (files run in parallel). */
/**
 * The config most call tests use: domain `pbx.test` whose only trunk, `loop`, takes every INVITE from 127.0.0.1
 * (identified by CIDR, no digest) into `dialplan`; `trunk` adds fields (codecs, outbound, ...).
 */
export function loopTrunkConfig(dialplan: Record<string, unknown>, trunk: Record<string, unknown> = {}): unknown {
  return { domains: { 'pbx.test': { clients: [], trunks: [{ id: 1, name: 'loop', inbound: ['127.0.0.1/32'], ...trunk, dialplan }] } } };
}

export async function startTestPbx(t: HasTeardown, config: unknown, extra: Record<string, unknown> = {}): Promise<TestPbx> {
  const rtpPortMin = 30000 + 200 * Math.floor(Math.random() * 100);
  const pbx = createPbx({
    config,
    sipHost: '127.0.0.1',
    sipPort: 0,
    publicIp: '127.0.0.1',
    api: false,
    rtpPortMin,
    rtpPortMax: rtpPortMin + 199,
    ...extra,
  });
  const addr = await pbx.start();
  t.teardown(() => pbx.stop());
  const port = addr.sip.find((s) => s.transport === 'udp')!.port;
  const relaySessions = (): number => (pbx as unknown as { relay?: { sessionCount: number } }).relay?.sessionCount ?? -1;
  return { pbx, port, relaySessions };
}

export interface SippPeer {
  done: Promise<SippResult>;
  /** The exit result once sipp has exited, else undefined. */
  result(): SippResult | undefined;
  /** SIP messages sipp sent and received (-trace_msg), read after `done`. */
  messages(): string;
}

let seq = 0;

/**
 * Starts sipp with a scenario of test/fixtures/sipp (or a built-in `-sn` name), bound to 127.0.0.1:`port`,
 * media on `mediaPort`. Killed at teardown; `killAfterMs` bounds it (a liveness bound, not a timing assertion).
 */
export function sipp(
  t: HasTeardown,
  a: { scenario: string; port: number; mediaPort: number; target?: string; args?: string[]; killAfterMs?: number },
): SippPeer {
  const msgFile = `/tmp/dpbx-calls-${process.pid}-${++seq}-msg.log`;
  const scen = a.scenario.endsWith('.xml') ? ['-sf', fixturePath('sipp', a.scenario)] : ['-sn', a.scenario];
  const args = [
    ...(a.target ? [a.target] : []),
    ...scen,
    '-i', '127.0.0.1', '-p', String(a.port), '-mp', String(a.mediaPort), '-m', '1', '-nostdin',
    '-timeout', '60', '-timeout_error', '-trace_msg', '-message_file', msgFile,
    ...(a.args ?? []),
  ];
  const p = spawnSipp(args, a.killAfterMs ?? 25000, t);
  t.teardown(() => rmSync(msgFile, { force: true }));
  return { done: p.done, result: p.result, messages: () => (existsSync(msgFile) ? readFileSync(msgFile, 'utf8') : '') };
}

/** Resolves once `peer` (sipp) holds UDP `port` on 127.0.0.1; rejects with its output if it exits first. */
export async function udpBound(port: number, peer: SippPeer): Promise<void> {
  await waitFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        const exited = peer.result();
        if (exited) return reject(new Error(`sipp exited (${exited.code}) before listening on ${port}: ${exited.out.slice(-600)}`));
        const s = createSocket('udp4');
        s.once('error', () => resolve(true));
        s.bind(port, '127.0.0.1', () => s.close(() => resolve(false)));
      }),
    `sipp listening on ${port}`,
    20000,
  );
}

/**
 * Four consecutive free UDP ports from an even base (sipp's -mp takes RTP and RTCP, audio and video), from
 * 50000–60991: above the relays' test ranges, below freeUdpPort's.
 */
export async function freeMediaPort(): Promise<number> {
  for (;;) {
    const base = 50000 + 2 * Math.floor(Math.random() * 5495);
    const socks: Socket[] = [];
    let ok = true;
    for (let p = base; p < base + 4 && ok; p++) {
      ok = await new Promise<boolean>((resolve) => {
        const s = createSocket('udp4');
        s.once('error', () => resolve(false));
        s.bind(p, '127.0.0.1', () => {
          socks.push(s);
          resolve(true);
        });
      });
    }
    await Promise.all(socks.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (ok) return base;
  }
}

export interface RtpPacket {
  at: number;
  pt: number;
  payload: Buffer;
}

/** A UDP socket standing in for a caller's RTP port: it records every RTP packet it gets. */
export async function rtpSink(t: HasTeardown): Promise<{ port: number; packets: RtpPacket[] }> {
  const s = createSocket('udp4');
  const packets: RtpPacket[] = [];
  s.on('message', (m) => {
    if (m.length < 12 || m[0]! >> 6 !== 2) return;
    const pt = m[1]! & 0x7f;
    if (pt >= 72 && pt <= 79) return; // RTCP
    const cc = m[0]! & 0x0f;
    packets.push({ at: Date.now(), pt, payload: Buffer.from(m.subarray(12 + 4 * cc)) });
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return { port: s.address().port, packets };
}

export const G711A_PCAP = '/usr/share/sip-tester/g711a.pcap';

/** RTP payloads (hex) of a classic libpcap file of Ethernet/IPv4/UDP/RTP packets, e.g. sipp's g711a.pcap. */
export function pcapRtpPayloads(path: string): Set<string> {
  return new Set(pcapRtpPayloadList(path).map((p) => p.toString('hex')));
}

/** The RTP payloads of such a pcap file in order, repeats included. */
export function pcapRtpPayloadList(path: string): Buffer[] {
  const d = readFileSync(path);
  const out: Buffer[] = [];
  if (d.length < 24 || d.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: not a little-endian pcap`);
  let off = 24;
  while (off + 16 <= d.length) {
    const incl = d.readUInt32LE(off + 8);
    const pkt = d.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    if (pkt.length < 14 + 20 + 8 + 12 || pkt.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (pkt[14]! & 0x0f) * 4;
    const rtp = pkt.subarray(14 + ihl + 8);
    const cc = rtp[0]! & 0x0f;
    out.push(rtp.subarray(12 + 4 * cc));
  }
  return out;
}

export interface TracedMessage {
  dir: 'sent' | 'received';
  /** Request-Line or Status-Line. */
  startLine: string;
  /** First value of a header (case-insensitive name), trimmed. */
  header(name: string): string | undefined;
  body: string;
}

/** The SIP messages of a sipp `-trace_msg` log, in order. */
export function sipMessages(log: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  for (const chunk of log.split(/^-{20,} .*$/m)) {
    const m = /^\s*\S+ message (sent|received)[^\n]*\n\n([\s\S]*)$/.exec(chunk);
    if (!m) continue;
    const text = m[2]!.replace(/\r\n/g, '\n');
    const split = text.indexOf('\n\n');
    const head = (split < 0 ? text : text.slice(0, split)).split('\n');
    const body = split < 0 ? '' : text.slice(split + 2).trim();
    const startLine = head[0]!.trim();
    const headers = head.slice(1);
    out.push({
      dir: m[1] as 'sent' | 'received',
      startLine,
      body,
      header(name) {
        const re = new RegExp(`^${name.replace(/[-]/g, '\\-')}\\s*:\\s*(.*)$`, 'i');
        for (const h of headers) {
          const hm = re.exec(h);
          if (hm) return hm[1]!.trim();
        }
        return undefined;
      },
    });
  }
  return out;
}

/** Waits until the engine has no call and the relay no session (a liveness bound; fails the test on expiry). */
export async function settled(tp: TestPbx): Promise<void> {
  await waitFor(() => tp.pbx.engine.activeCalls === 0 && tp.relaySessions() === 0, 'no active call and no relay session', 10000);
}

const RAW_OFFER = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

/**
 * A raw INVITE (PCMU offer) from 127.0.0.1 — a trunk source — to the PBX's UDP `port`; resolves with the final
 * status (the ACK is sent), rejects after 60 s without one.
 */
export async function rawInvite(port: number): Promise<number> {
  return (await rawInviteFinal(port)).status;
}

/** rawInvite's final response: status, the first value of a header, and the provisional statuses before it. */
export function rawInviteFinal(port: number): Promise<{ status: number; get(name: string): string | undefined; provisional: number[] }> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => { sock.close(); reject(new Error('no final response')); }, 60000);
    const provisional: number[] = [];
    sock.on('message', (buf) => {
      const m = parseMessage(buf);
      if (m.isRequest) return;
      if (m.status < 200) {
        provisional.push(m.status);
        return;
      }
      clearTimeout(timer);
      const lp = sock.address().port;
      const ack = `ACK sip:5550000@127.0.0.1:${port} SIP/2.0\r\nVia: ${m.get('Via')}\r\nFrom: ${m.get('From')}\r\nTo: ${m.get('To')}\r\nCall-ID: ${m.callId}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContact: <sip:t@127.0.0.1:${lp}>\r\nContent-Length: 0\r\n\r\n`;
      sock.send(ack, port, '127.0.0.1', () => { sock.close(); resolve({ status: m.status, get: (n) => m.get(n), provisional }); });
    });
    sock.bind(0, '127.0.0.1', () => {
      const lp = sock.address().port;
      const msg = `INVITE sip:5550000@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\nFrom: <sip:carrier@127.0.0.1>;tag=f1\r\nTo: <sip:5550000@127.0.0.1>\r\nCall-ID: fb-${Math.random().toString(36).slice(2)}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:t@127.0.0.1:${lp}>\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(RAW_OFFER)}\r\n\r\n${RAW_OFFER}`;
      sock.send(msg, port, '127.0.0.1');
    });
  });
}
