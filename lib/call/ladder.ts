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
  /** Wire bytes of entries whose `raw` text is built on first list() (same index as entries; undefined = none). */
  private readonly pendingRaw: Array<Buffer | undefined> = [];
  /** Entries dropped because the ladder was full. */
  dropped = 0;

  constructor(
    private readonly now: () => number,
    readonly capacity = 500,
  ) {}

  /**
   * Appends an entry. `rawBytes` (the message as sent or received) stands for `raw` and is only decoded and masked
   * when the ladder is read: most calls' ladders are never asked for, and the text building was ~5 % of the PBX's
   * CPU per call in bench/call-rate.js. The caller must not modify the buffer afterwards.
   */
  append(entry: LadderEntry, rawBytes?: Buffer): void {
    this.adopt({ ...entry }, rawBytes);
  }

  /** append() of an entry object the caller gives away (it is kept as is, not copied: the SIP layer's path). */
  adopt(e: LadderEntry, rawBytes?: Buffer): void {
    e.at ??= this.now();
    if (e.raw !== undefined) e.raw = maskSecrets(e.raw);
    this.entries.push(e);
    this.pendingRaw.push(e.raw === undefined ? rawBytes : undefined);
    if (this.entries.length > this.capacity) {
      this.entries.shift();
      this.pendingRaw.shift();
      this.dropped++;
    }
  }

  /** A copy of the entries, oldest first. */
  list(): LadderEntry[] {
    return this.entries.map((e, i) => {
      const bytes = this.pendingRaw[i];
      if (bytes !== undefined) {
        e.raw = maskSecrets(bytes.toString('utf8'));
        this.pendingRaw[i] = undefined;
      }
      return { ...e };
    });
  }

  get size(): number {
    return this.entries.length;
  }
}

/** Credentials never leave the ladder: Authorization-type header lines are masked. */
function maskSecrets(raw: string): string {
  return raw.replace(SECRET_HEADER_LINE, (line) => line.slice(0, line.indexOf(':') + 1) + ' [redacted]');
}
