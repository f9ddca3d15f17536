/** DATA_SOURCE=json: CONFIG_FILE (default ./config.json, else the bundled examples/config.json). */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';
import { BaseConfigSource, type Fetched, type Logger } from './source.js';
import type { NormalizeOptions } from './types.js';
import { normalizeConfig } from './validate.js';

export interface JsonConfigSourceOptions {
  /** CONFIG_FILE. Default: ./config.json when it exists, else the bundled example. */
  file?: string;
  /** FILE_PATH for `file:` hooks. Default: the config file's folder. */
  filePath?: string;
  defaultCodecs?: NormalizeOptions['defaultCodecs'];
  logger?: Logger;
}

/** Absolute path of the bundled examples/config.json (found from this module, in src or dist). */
export function bundledExampleConfig(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'examples', 'config.json');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new ConfigError('DPBX_ERR_CONFIG_LOAD', 'bundled examples/config.json not found');
    dir = up;
  }
}

/** CONFIG_FILE resolution: explicit > ./config.json > bundled example. */
export function resolveConfigFile(file: string | undefined, cwd = process.cwd()): string {
  if (file) return resolve(cwd, file);
  const local = resolve(cwd, 'config.json');
  return existsSync(local) ? local : bundledExampleConfig();
}

export class JsonConfigSource extends BaseConfigSource {
  readonly kind = 'json' as const;
  readonly file: string;
  private readonly opts: JsonConfigSourceOptions;

  constructor(opts: JsonConfigSourceOptions = {}) {
    super(opts.logger);
    this.opts = opts;
    this.file = resolveConfigFile(opts.file);
  }

  protected async fetch(): Promise<Fetched> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `cannot read config file ${this.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, err);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      // The JSON.parse message can quote file content (a password) — report only the position.
      const pos = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `config file ${this.file} is not valid JSON${pos ? ` (at position ${pos})` : ''}`);
    }
    const config = normalizeConfig(raw, {
      filePath: this.opts.filePath ?? dirname(this.file),
      ...(this.opts.defaultCodecs ? { defaultCodecs: this.opts.defaultCodecs } : {}),
    });
    return { config, fingerprint: createHash('sha256').update(text).digest('hex') };
  }
}
