/**
 * Regenerates the bundled ringback files media/sounds/{uk,us,eu}.wav (8 kHz, 16-bit, mono, one cadence cycle).
 * Run: node --import tsx media/play/generate-sounds.ts [outDir]
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRingback, type RingbackCountry } from './tones.js';
import { writeWav } from './wav.js';

export function generateSounds(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const country of ['uk', 'us', 'eu'] as RingbackCountry[]) {
    const file = join(outDir, `${country}.wav`);
    writeFileSync(file, writeWav(generateRingback(country, 8000), { sampleRate: 8000, channels: 1, format: 'pcm16' }));
    written.push(file);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'sounds');
  for (const f of generateSounds(out)) process.stderr.write(`wrote ${f}\n`);
}
