/**
 * Call-detail records (GET /domains/:d/cdrs?from&to&limit): one record per ended call, kept in memory per domain,
 * bounded (oldest dropped). A persistent store can implement CdrStore.
 */
import type { DestSummary } from './control.js';

export interface CdrRecord {
  /** The engine's call id (also in /domains/:d/calls). */
  id: string;
  /** SIP Call-ID of the inbound leg. */
  callId: string;
  domain: string;
  from: string;
  to: string;
  source: 'client' | 'trunk';
  trunk?: { id: number | string; name: string };
  /** Epoch ms of the INVITE, the first answer, the end. */
  startedAt: number;
  answeredAt?: number;
  endedAt: number;
  /** endedAt − startedAt. */
  durationMs: number;
  /** endedAt − answeredAt (0 when never answered). */
  talkMs: number;
  cause: string;
  /** Final response sent to the caller when the call was not answered. */
  finalStatus?: number;
  /** The destination that answered last. */
  answeredBy?: DestSummary;
  /** How many CallHook requests the call made (first, retries, transfers). */
  hookRequests: number;
  transfers: number;
}

export interface CdrQuery {
  /** Epoch ms: records that started at or after. */
  from?: number;
  /** Epoch ms: records that started before. */
  to?: number;
  /** Most records returned (newest first). Default 100. */
  limit?: number;
}

export interface CdrStore {
  add(rec: CdrRecord): void;
  query(domain: string, q?: CdrQuery): CdrRecord[];
}

export class MemoryCdrStore implements CdrStore {
  private readonly byDomain = new Map<string, CdrRecord[]>();
  dropped = 0;

  constructor(readonly maxPerDomain = 10_000) {}

  add(rec: CdrRecord): void {
    let list = this.byDomain.get(rec.domain);
    if (!list) this.byDomain.set(rec.domain, (list = []));
    list.push({ ...rec });
    if (list.length > this.maxPerDomain) {
      list.shift();
      this.dropped++;
    }
  }

  query(domain: string, q: CdrQuery = {}): CdrRecord[] {
    const list = this.byDomain.get(domain.toLowerCase()) ?? [];
    const limit = Math.max(0, Math.min(q.limit ?? 100, 10_000));
    const out: CdrRecord[] = [];
    for (let i = list.length - 1; i >= 0 && out.length < limit; i--) {
      const r = list[i]!;
      if (q.from !== undefined && r.startedAt < q.from) continue;
      if (q.to !== undefined && r.startedAt >= q.to) continue;
      out.push({ ...r });
    }
    return out;
  }
}
