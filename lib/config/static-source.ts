/** A config given in-process (library users: `createPbx({config: {...}})`), hooks may be functions. */
import { BaseConfigSource, type Fetched, type Logger } from './source.js';
import type { NormalizeOptions } from './types.js';
import { normalizeConfig } from './validate.js';

export interface StaticConfigSourceOptions extends NormalizeOptions {
  logger?: Logger;
}

export class StaticConfigSource extends BaseConfigSource {
  readonly kind = 'static' as const;
  private raw: unknown;
  private version = 0;

  constructor(
    raw: unknown,
    private readonly opts: StaticConfigSourceOptions = {},
  ) {
    super(opts.logger);
    this.raw = raw;
  }

  /** Replaces the config; validated on the next reload() (which this starts and returns). */
  set(raw: unknown) {
    this.raw = raw;
    this.version++;
    return this.reload();
  }

  protected async fetch(): Promise<Fetched> {
    return { config: normalizeConfig(this.raw, this.opts), fingerprint: String(this.version) };
  }
}
