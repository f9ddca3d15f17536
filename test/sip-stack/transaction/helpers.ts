/**
 * Test helpers for the transaction layer: an in-memory fake transport that records what is sent (with the virtual
 * time of each send), a recording transaction user, and builders that produce messages the way the transport
 * delivers them (parsed from wire bytes).
 */
import { type SipMessage, type SipMessageAny, type SipRequest, type SipResponse, createResponse, parseMessage } from '../../../sip-stack/message/index.js';
import { type MessageSource, type SendResult, type SendTarget, TransportError } from '../../../sip-stack/transport/index.js';
import { type ClientTransaction, type ClientTransactionUser, type RequestPolicy, type ServerTransaction, type TimerConfig,
  type TransactionError, type TransactionUser, type AnyTransaction, TransactionLayer, VirtualClock } from '../../../sip-stack/transaction/index.js';

export interface Sent {
  message: SipMessage;
  target: SendTarget;
  at: number;
}

export class FakeNet {
  readonly sent: Sent[] = [];
  /** When set, sends for which it returns an error fail with it. */
  failWith: ((m: SipMessage, t: SendTarget) => TransportError | undefined) | undefined;
  constructor(private readonly clock: VirtualClock) {}

  send = (message: SipMessageAny, target: SendTarget): Promise<SendResult> => {
    this.sent.push({ message, target, at: this.clock.now() });
    const err = this.failWith?.(message, target);
    if (err) return Promise.resolve({ ok: false, error: err });
    return Promise.resolve({ ok: true, transport: target.transport, localAddress: '127.0.0.1', localPort: 5060 });
  };

  requests(method?: string): Array<Sent & { message: SipRequest }> {
    return this.sent.filter((s) => s.message.isRequest && (method === undefined || (s.message as SipRequest).method === method)) as Array<Sent & { message: SipRequest }>;
  }

  responses(status?: number): Array<Sent & { message: SipResponse }> {
    return this.sent.filter((s) => !s.message.isRequest && (status === undefined || (s.message as SipResponse).status === status)) as Array<Sent & { message: SipResponse }>;
  }

  clear(): void {
    this.sent.length = 0;
  }
}

export class RecordingTu implements TransactionUser {
  readonly requests: Array<{ req: SipRequest; tx: ServerTransaction }> = [];
  readonly acks: SipRequest[] = [];
  readonly stray: SipResponse[] = [];
  readonly rejected: Array<{ req: SipRequest; status: number }> = [];
  readonly errors: Array<{ tx: AnyTransaction; err: TransactionError }> = [];
  /** Called from receiveRequest (e.g. to answer at once). */
  onRequest: ((req: SipRequest, tx: ServerTransaction) => void) | undefined;

  receiveRequest(req: SipRequest, tx: ServerTransaction): void {
    this.requests.push({ req, tx });
    this.onRequest?.(req, tx);
  }
  receiveAck(ack: SipRequest): void {
    this.acks.push(ack);
  }
  receiveStrayResponse(res: SipResponse): void {
    this.stray.push(res);
  }
  requestRejected(req: SipRequest, status: number): void {
    this.rejected.push({ req, status });
  }
  transactionError(tx: AnyTransaction, err: TransactionError): void {
    this.errors.push({ tx, err });
  }
}

/** A client transaction user that records everything. */
export class RecordingClientUser implements ClientTransactionUser {
  readonly responses: SipResponse[] = [];
  readonly timeouts: TransactionError[] = [];
  readonly transportErrors: TransactionError[] = [];
  terminatedCount = 0;
  receiveResponse(res: SipResponse, _tx: ClientTransaction): void {
    this.responses.push(res);
  }
  timeout(_tx: ClientTransaction, err: TransactionError): void {
    this.timeouts.push(err);
  }
  transportError(_tx: ClientTransaction, err: TransactionError): void {
    this.transportErrors.push(err);
  }
  terminated(): void {
    this.terminatedCount++;
  }
  get statuses(): number[] {
    return this.responses.map((r) => r.status);
  }
}

export function setup(o: { timers?: Partial<TimerConfig>; policy?: RequestPolicy } = {}) {
  const clock = new VirtualClock();
  const net = new FakeNet(clock);
  const tu = new RecordingTu();
  const layer = new TransactionLayer({ send: net.send, tu, clock, timers: o.timers, policy: o.policy });
  return { clock, net, tu, layer };
}

/** Let promise callbacks (send results) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

export const udpSource: MessageSource = { transport: 'udp', address: '127.0.0.1', port: 5070, localAddress: '127.0.0.1', localPort: 5060 };
export const tcpSource: MessageSource = { transport: 'tcp', address: '127.0.0.1', port: 40001, localAddress: '127.0.0.1', localPort: 5060, connectionId: 'tcp-1' };
export const udpTarget: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5080 };
export const tcpTarget: SendTarget = { transport: 'tcp', address: '127.0.0.1', port: 5080 };

export interface RequestSpec {
  method?: string;
  uri?: string;
  /** Top Via branch; default a fresh RFC 3261 branch. */
  branch?: string | null;
  transport?: 'UDP' | 'TCP';
  viaHost?: string;
  callId?: string;
  cseq?: number;
  cseqMethod?: string;
  fromTag?: string;
  toTag?: string;
  maxForwards?: number;
  headers?: string[];
}

let n = 0;

/** A request as the transport delivers it: parsed from bytes. */
export function request(s: RequestSpec = {}): SipRequest {
  const method = s.method ?? 'INVITE';
  const branch = s.branch === null ? '' : `;branch=${s.branch ?? `z9hG4bK-test-${++n}`}`;
  const lines = [
    `${method} ${s.uri ?? 'sip:bob@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/${s.transport ?? 'UDP'} ${s.viaHost ?? '127.0.0.1:5070'}${branch}`,
    `Max-Forwards: ${s.maxForwards ?? 70}`,
    `From: <sip:alice@127.0.0.1>;tag=${s.fromTag ?? 'ft1'}`,
    `To: <sip:bob@127.0.0.1>${s.toTag ? `;tag=${s.toTag}` : ''}`,
    `Call-ID: ${s.callId ?? 'call-1@test'}`,
    `CSeq: ${s.cseq ?? 1} ${s.cseqMethod ?? method}`,
    ...(s.headers ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'))) as SipRequest;
}

/** Same request bytes again (a network retransmission is a new object). */
export function again(req: SipRequest): SipRequest {
  return parseMessage(req.toBuffer()) as SipRequest;
}

/** A response to `req` as it would arrive from the network. */
export function response(req: SipRequest, status: number, toTag?: string): SipResponse {
  const res = createResponse(req, status, undefined, toTag !== undefined ? { toTag } : undefined);
  return parseMessage(res.toBuffer()) as SipResponse;
}

/** An outgoing request for sendRequest (Via without branch: the layer adds one). */
export function outgoing(method = 'INVITE', transport: 'UDP' | 'TCP' = 'UDP', extra: string[] = []): SipRequest {
  const lines = [
    `${method} sip:carol@127.0.0.1:5080 SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:5060;rport`,
    'Max-Forwards: 70',
    'From: <sip:pbx@127.0.0.1>;tag=pbx1',
    'To: <sip:carol@127.0.0.1>',
    `Call-ID: out-${++n}@test`,
    `CSeq: 10 ${method}`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ];
  return parseMessage(Buffer.from(lines.join('\r\n'))) as SipRequest;
}

/** Intervals between successive values. */
export function gaps(times: number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i]! - times[i - 1]!);
  return out;
}
