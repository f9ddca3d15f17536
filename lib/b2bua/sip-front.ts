/**
 * SipFront: the PBX's SIP endpoint — the transport layer (UDP/TCP/TLS listeners) under the transaction layer,
 * whose transaction user is the PBX's request router. It owns the sockets and timers of the SIP side; close()
 * releases them all.
 */
import {
  createTransportLayer,
  TransactionLayer,
  type BoundListener,
  type ListenOptions,
  type MessageSource,
  type RequestPolicy,
  type ServerTransaction,
  type SipRequest,
  type SipResponse,
  type SipMessageAny,
  type TimerConfig,
  type Clock,
  type TransportLayer,
  type TransactionUser,
} from '../../sip-stack/index.js';
import type { Logger } from '../log.js';

/** What the PBX does with what the transaction layer passes up. Exceptions are caught by the layer. */
export interface SipRouter {
  request(req: SipRequest, tx: ServerTransaction): void;
  ack?(ack: SipRequest, source: MessageSource): void;
  strayResponse?(res: SipResponse, source: MessageSource): void;
}

/** Methods the PBX answers; known methods outside this list get 405 with Allow, unknown ones 501. */
export const PBX_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY'] as const;
/** Option tags we support (Require with anything else → 420). */
export const PBX_OPTION_TAGS = ['replaces', 'timer', '100rel', 'path', 'outbound'] as const;

export interface SipFrontOptions {
  listen: ListenOptions[];
  router: SipRouter;
  logger: Logger;
  timers?: Partial<TimerConfig>;
  clock?: Clock;
  policy?: RequestPolicy;
}

export class SipFront {
  readonly transport: TransportLayer;
  readonly transactions: TransactionLayer;
  private bound: BoundListener[] = [];

  constructor(opts: SipFrontOptions) {
    const log = opts.logger;
    this.transport = createTransportLayer({ listen: opts.listen, logger: log.child({ ns: 'sip-transport' }) });
    const router = opts.router;
    const tu: TransactionUser = {
      receiveRequest: (req, tx) => router.request(req, tx),
      receiveAck: (ack, source) => router.ack?.(ack, source),
      receiveStrayResponse: (res, source) => router.strayResponse?.(res, source),
      requestRejected: (req, status, source) =>
        log.debug({ method: req.method, status, from: `${source.address}:${source.port}` }, 'request rejected by the transaction layer'),
      transactionError: (tx, err) => log.debug({ code: err.code, method: tx.request.method }, 'transaction error'),
    };
    this.transactions = new TransactionLayer({
      send: (m, target) => this.transport.send(m as SipMessageAny, target),
      tu,
      logger: log.child({ ns: 'sip-transaction' }),
      policy: opts.policy ?? { allowedMethods: [...PBX_METHODS], supportedOptions: [...PBX_OPTION_TAGS] },
      ...(opts.timers ? { timers: opts.timers } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.transport.on('message', (m, source) => this.transactions.receive(m, source));
  }

  async listen(): Promise<BoundListener[]> {
    this.bound = await this.transport.listen();
    return this.bound;
  }

  get listeners(): BoundListener[] {
    return this.bound;
  }

  async close(): Promise<void> {
    this.transactions.close();
    await this.transport.close();
  }
}
