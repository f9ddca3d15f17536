/**
 * The per-call SIP ladder (GET /calls/:id/ladder): the SIP messages of a call in order, fed by the SIP layer.
 * Bounded (oldest entries dropped and counted). Credentials never stay in it: Authorization-type header lines of
 * a raw message are masked on append.
 */
export interface LadderEntry {
  /** Epoch ms (filled from the call clock when absent). */
  at?: number;
  /** `in` = received by the PBX, `out` = sent. */
  direction: 'in' | 'out';
  /** Which leg: the caller's leg id or an attempt id. */
  leg: string;
  /** First line: `INVITE sip:1002@pbx SIP/2.0` or `SIP/2.0 180 Ringing`. */
  summary: string;
  /** Remote party `address:port`. */
  remote?: string;
  transport?: string;
  /** The whole message, when the SIP layer keeps it. */
  raw?: string;
}

const SECRET_HEADER_LINE = /^(authorization|proxy-authorization)[ \t]*:.*$/gim;

export class SipLadder {
  private readonly entries: LadderEntry[] = [];
  /** Entries dropped because the ladder was full. */
  dropped = 0;

  constructor(
    private readonly now: () => number,
    readonly capacity = 500,
  ) {}

  append(entry: LadderEntry): void {
    const e: LadderEntry = { ...entry, at: entry.at ?? this.now() };
    if (e.raw !== undefined) e.raw = e.raw.replace(SECRET_HEADER_LINE, (line) => line.slice(0, line.indexOf(':') + 1) + ' [redacted]');
    this.entries.push(e);
    if (this.entries.length > this.capacity) {
      this.entries.shift();
      this.dropped++;
    }
  }

  /** A copy of the entries, oldest first. */
  list(): LadderEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  get size(): number {
    return this.entries.length;
  }
}
