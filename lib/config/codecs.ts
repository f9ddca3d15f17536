/**
 * Canonical codec names (SDP encoding names as the codecs layer registers them) and the aliases accepted in
 * configs and DEFAULT_CODECS. Kept here, not imported from codecs/, so the config layer loads without media.
 */
const CANONICAL: Record<string, string> = {
  pcmu: 'PCMU',
  g711u: 'PCMU',
  'g.711u': 'PCMU',
  ulaw: 'PCMU',
  mulaw: 'PCMU',
  pcma: 'PCMA',
  g711a: 'PCMA',
  'g.711a': 'PCMA',
  alaw: 'PCMA',
  g722: 'G722',
  'g.722': 'G722',
  opus: 'opus',
  gsm: 'GSM',
  amr: 'AMR',
  'amr-wb': 'AMR-WB',
  amrwb: 'AMR-WB',
  'telephone-event': 'telephone-event',
};

export const DEFAULT_CODECS: readonly string[] = ['G722', 'PCMA', 'PCMU'];

/** Canonical name of a codec, or undefined when unknown. Case-insensitive. */
export function canonicalCodec(name: string): string | undefined {
  return CANONICAL[name.trim().toLowerCase()];
}

/**
 * Parses a comma list such as the DEFAULT_CODECS env string ("G722, pcma,PCMU") into canonical names, in order,
 * without duplicates. Throws a TypeError naming the unknown codec.
 */
export function parseCodecList(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',')) {
    if (part.trim() === '') continue;
    const c = canonicalCodec(part);
    if (!c) throw new TypeError(`unknown codec "${part.trim()}"`);
    if (!out.includes(c)) out.push(c);
  }
  return out;
}
