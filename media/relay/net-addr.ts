/**
 * An IP address + port as numbers (family 4|6 and four 32-bit words), so the packet path compares sources and
 * names destinations without strings: the string is made only when somebody asks for it (latching changed, an
 * event, stats). IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) count as IPv4. A name that is not an IP literal is
 * kept as a string with family 0 (it matches no source; node:dgram can still resolve it, the native I/O cannot).
 */
export class NetAddr {
  fam = 0;
  w0 = 0;
  w1 = 0;
  w2 = 0;
  w3 = 0;
  port = 0;
  private str: string | null = null;

  /** The address as text (formatted on first use after the numbers changed). */
  get address(): string {
    if (this.str === null) this.str = formatAddr(this);
    return this.str;
  }

  /** Sets address and port; returns false (family 0) when `address` is not an IP literal. */
  set(address: string, port: number): boolean {
    this.port = port;
    this.str = address;
    if (parseAddr(address, this)) return true;
    this.fam = this.w0 = this.w1 = this.w2 = this.w3 = 0;
    return false;
  }

  /** Sets the numbers (the text is made lazily). */
  setWords(fam: number, w0: number, w1: number, w2: number, w3: number, port: number): void {
    this.fam = fam;
    this.w0 = w0;
    this.w1 = w1;
    this.w2 = w2;
    this.w3 = w3;
    this.port = port;
    this.str = null;
  }

  copyFrom(o: NetAddr): void {
    this.fam = o.fam;
    this.w0 = o.w0;
    this.w1 = o.w1;
    this.w2 = o.w2;
    this.w3 = o.w3;
    this.port = o.port;
    this.str = o.address;
  }

  /** Same address (not the port). */
  sameHost(o: NetAddr): boolean {
    return this.w0 === o.w0 && this.fam === o.fam && this.fam !== 0 && this.w1 === o.w1 && this.w2 === o.w2 && this.w3 === o.w3;
  }

  /** Same address and port. */
  same(o: NetAddr): boolean {
    return this.port === o.port && this.sameHost(o);
  }
}

function parseV4(s: string, from: number, to: number): number {
  let v = 0;
  let part = -1;
  let parts = 0;
  let digits = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (part < 0 || parts === 4) return -1;
      v = v * 256 + part;
      parts++;
      part = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // no leading zeros (they would read as octal elsewhere)
      part = (part < 0 ? 0 : part * 10) + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? v : -1;
}

/** Parses an IPv4 or IPv6 literal into `out` (family and words). */
export function parseAddr(s: string, out: NetAddr): boolean {
  const v4 = s.indexOf(':') < 0 ? parseV4(s, 0, s.length) : -1;
  if (v4 >= 0) {
    out.fam = 4;
    out.w0 = v4 | 0;
    out.w1 = out.w2 = out.w3 = 0;
    return true;
  }
  if (s.indexOf(':') < 0) return false;
  let end = s.indexOf('%'); // zone id
  if (end < 0) end = s.length;
  const g = [0, 0, 0, 0, 0, 0, 0, 0];
  const head: number[] = [];
  const tail: number[] = [];
  let cur = head;
  let i = 0;
  let gap = false;
  if (s.startsWith('::')) {
    gap = true;
    cur = tail;
    i = 2;
  }
  while (i < end) {
    let j = i;
    while (j < end && s.charCodeAt(j) !== 58) j++;
    const tok = s.slice(i, j);
    if (tok.indexOf('.') >= 0) {
      if (j !== end) return false;
      const v = parseV4(tok, 0, tok.length);
      if (v < 0) return false;
      cur.push(Math.floor(v / 65536), v & 0xffff);
    } else {
      if (tok.length === 0 || tok.length > 4 || !/^[0-9a-fA-F]+$/.test(tok)) return false;
      cur.push(parseInt(tok, 16));
    }
    if (j === end) break;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap) return false;
      gap = true;
      cur = tail;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return false;
    }
  }
  if (gap ? head.length + tail.length > 7 : head.length !== 8) return false;
  for (let k = 0; k < head.length; k++) g[k] = head[k]!;
  for (let k = 0; k < tail.length; k++) g[8 - tail.length + k] = tail[k]!;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    out.fam = 4; // IPv4-mapped
    out.w0 = ((g[6]! << 16) | g[7]!) | 0;
    out.w1 = out.w2 = out.w3 = 0;
    return true;
  }
  out.fam = 6;
  out.w0 = ((g[0]! << 16) | g[1]!) | 0;
  out.w1 = ((g[2]! << 16) | g[3]!) | 0;
  out.w2 = ((g[4]! << 16) | g[5]!) | 0;
  out.w3 = ((g[6]! << 16) | g[7]!) | 0;
  return true;
}

/** Text form: dotted quad, or RFC 5952 IPv6 (lower case, the longest run of ≥ 2 zero groups as ::). */
export function formatAddr(a: NetAddr): string {
  if (a.fam === 4) {
    const v = a.w0 >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  if (a.fam !== 6) return '';
  const w = [a.w0 >>> 0, a.w1 >>> 0, a.w2 >>> 0, a.w3 >>> 0];
  const g: number[] = [];
  for (const x of w) g.push(x >>> 16, x & 0xffff);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}
