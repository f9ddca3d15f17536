/**
 * lib/config — the PBX configuration: model, validator, matching, and backends (json | api | pg | static).
 *
 *   const source = createConfigSource({ env: process.env, logger });
 *   const config = await source.load();                 // typed error when nothing loads
 *   const domain = findDomain(config, 'pbx.example.com');
 *   const client = domain && matchClient(domain, '1234');
 *   const entry  = client && matchDialplan(client.dialplan, '9001');   // → entry.callHook / entry.statusHook
 *   source.on('change', (cfg) => ...); await source.reload();          // SIGHUP / POST /reload
 *
 * See docs/config.md.
 */
import { ApiConfigSource } from './api-source.js';
import { parseCodecList } from './codecs.js';
import { ConfigError } from './errors.js';
import { JsonConfigSource } from './json-source.js';
import { PgConfigSource } from './pg-source.js';
import type { ConfigSource, Logger } from './source.js';
import { StaticConfigSource } from './static-source.js';

export * from './types.js';
export { ConfigError, ConfigValidationError, type ConfigErrorCode, type ConfigIssue } from './errors.js';
export { normalizeConfig } from './validate.js';
export { findDomain, findTrunk, matchClient, matchDialplan, matchTrunkBySource, type TrunkMatch } from './match.js';
export { compilePattern, compareSpecificity, patternMatches, type CompiledPattern } from './pattern.js';
export { parseCidr, parseIp, cidrContains, type Cidr } from './cidr.js';
export { canonicalCodec, parseCodecList, DEFAULT_CODECS } from './codecs.js';
export { redactConfig, redactHook } from './redact.js';
export {
  BaseConfigSource,
  silentLogger,
  type ConfigCounters,
  type ConfigSource,
  type ConfigSourceEvents,
  type Logger,
  type ReloadResult,
} from './source.js';
export { JsonConfigSource, bundledExampleConfig, resolveConfigFile, type JsonConfigSourceOptions } from './json-source.js';
export { ApiConfigSource, apiPayloadToRaw, type ApiConfigSourceOptions } from './api-source.js';
export {
  PgConfigSource,
  migratePg,
  readConfigFromPg,
  writeConfigToPg,
  PG_NOTIFY_CHANNEL,
  type PgConfigSourceOptions,
} from './pg-source.js';
export { StaticConfigSource, type StaticConfigSourceOptions } from './static-source.js';

export interface CreateConfigSourceOptions {
  /** Environment to read DATA_SOURCE, CONFIG_FILE, CONFIG_URL, CONFIG_TOKEN, CONFIG_TTL, DATABASE_URL, FILE_PATH, DEFAULT_CODECS from. */
  env?: Record<string, string | undefined>;
  /** An in-process config (library users); wins over env. Hooks may be functions. */
  config?: unknown;
  logger?: Logger;
}

/** Picks the backend from DATA_SOURCE (json | api | pg; default json). Throws ConfigError DPBX_ERR_CONFIG_OPTIONS. */
export function createConfigSource(opts: CreateConfigSourceOptions = {}): ConfigSource {
  const env = opts.env ?? {};
  const logger = opts.logger;
  let defaultCodecs: string[] | undefined;
  if (env.DEFAULT_CODECS) {
    try {
      defaultCodecs = parseCodecList(env.DEFAULT_CODECS);
    } catch (err) {
      throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', `DEFAULT_CODECS: ${(err as Error).message}`);
    }
  }
  const common = {
    ...(defaultCodecs ? { defaultCodecs } : {}),
    ...(env.FILE_PATH ? { filePath: env.FILE_PATH } : {}),
    ...(logger ? { logger } : {}),
  };
  if (opts.config !== undefined) return new StaticConfigSource(opts.config, common);
  let ttlSeconds: number | undefined;
  if (env.CONFIG_TTL !== undefined && env.CONFIG_TTL !== '') {
    ttlSeconds = Number(env.CONFIG_TTL);
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'CONFIG_TTL must be a number of seconds');
  }
  const kind = (env.DATA_SOURCE ?? 'json').toLowerCase();
  switch (kind) {
    case 'json':
      return new JsonConfigSource({ ...common, ...(env.CONFIG_FILE ? { file: env.CONFIG_FILE } : {}) });
    case 'api':
      return new ApiConfigSource({
        ...common,
        url: env.CONFIG_URL ?? '',
        ...(env.CONFIG_TOKEN ? { token: env.CONFIG_TOKEN } : {}),
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      });
    case 'pg':
      return new PgConfigSource({
        ...common,
        connectionString: env.DATABASE_URL ?? '',
        ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      });
    default:
      throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', `DATA_SOURCE must be json, api or pg (got "${kind}")`);
  }
}
