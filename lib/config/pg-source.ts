/**
 * DATA_SOURCE=pg: the config model in PostgreSQL (DATABASE_URL). On start the migrations create the tables
 * idempotently (under an advisory lock, so several PBX instances may start at once). Changes are picked up
 * without restart: statement triggers NOTIFY channel `dpbx_config` (payload = schema name), a dedicated
 * LISTEN connection reloads on it, and a poll every CONFIG_TTL seconds is the safety net for lost
 * notifications (e.g. while the LISTEN connection was reconnecting).
 *
 * Rows are turned into the original JSON shape and go through the same validator as the json backend, so
 * error paths read `domains["a.com"].clients[0].password` (clients/trunks in id order).
 */
import pg from 'pg';
import { ConfigError } from './errors.js';
import { BaseConfigSource, type Fetched, type Logger } from './source.js';
import type { NormalizeOptions, RawClient, RawConfig, RawDialplan, RawDomain, RawTrunk } from './types.js';
import { normalizeConfig } from './validate.js';

export const PG_NOTIFY_CHANNEL = 'dpbx_config';
export const PG_SCHEMA_VERSION = 1;

export interface PgConfigSourceOptions {
  /** DATABASE_URL */
  connectionString: string;
  /** Schema holding the tables, default `public`. */
  schema?: string;
  /** Safety-net poll interval (CONFIG_TTL seconds), default 60; 0 disables it. */
  ttlSeconds?: number;
  /** FILE_PATH for `file:` hooks, default process.cwd(). */
  filePath?: string;
  defaultCodecs?: NormalizeOptions['defaultCodecs'];
  logger?: Logger;
}

function schemaIdent(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/i.test(schema)) throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'pg schema must be a plain identifier');
  return `"${schema}"`;
}

/** The DDL of schema version 1 (idempotent). `s` is the quoted schema. */
export function migrationSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.dpbx_schema_version (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ${s}.domains (
  id bigserial PRIMARY KEY,
  name text NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS domains_name_lower ON ${s}.domains (lower(name));
CREATE TABLE IF NOT EXISTS ${s}.clients (
  id bigserial PRIMARY KEY,
  domain_id bigint NOT NULL REFERENCES ${s}.domains(id) ON DELETE CASCADE,
  username text NOT NULL,
  reghook text,
  password text,
  expires integer,
  max_contacts integer NOT NULL DEFAULT 1,
  codecs text[],
  UNIQUE (domain_id, username)
);
CREATE TABLE IF NOT EXISTS ${s}.trunks (
  id bigserial PRIMARY KEY,
  domain_id bigint NOT NULL REFERENCES ${s}.domains(id) ON DELETE CASCADE,
  name text NOT NULL,
  inbound text[] NOT NULL DEFAULT '{}',
  outbound_host text,
  outbound_port integer,
  outbound_transport text,
  outbound_username text,
  outbound_password text,
  outbound_register boolean NOT NULL DEFAULT false,
  outbound_expires integer,
  codecs text[],
  UNIQUE (domain_id, name)
);
CREATE TABLE IF NOT EXISTS ${s}.dialplan_entries (
  id bigserial PRIMARY KEY,
  client_id bigint REFERENCES ${s}.clients(id) ON DELETE CASCADE,
  trunk_id bigint REFERENCES ${s}.trunks(id) ON DELETE CASCADE,
  pattern text NOT NULL,
  call_hook text NOT NULL,
  status_hook text,
  CHECK ((client_id IS NULL) <> (trunk_id IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS dialplan_client_pattern ON ${s}.dialplan_entries (client_id, pattern) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS dialplan_trunk_pattern ON ${s}.dialplan_entries (trunk_id, pattern) WHERE trunk_id IS NOT NULL;
CREATE OR REPLACE FUNCTION ${s}.dpbx_notify_config() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${PG_NOTIFY_CHANNEL}', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;
${['domains', 'clients', 'trunks', 'dialplan_entries']
  .map(
    (t) => `DROP TRIGGER IF EXISTS dpbx_notify ON ${s}.${t};
CREATE TRIGGER dpbx_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${s}.${t}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.dpbx_notify_config();`,
  )
  .join('\n')}
INSERT INTO ${s}.dpbx_schema_version (version) VALUES (${PG_SCHEMA_VERSION}) ON CONFLICT DO NOTHING;
`;
}

/** Runs the migrations (idempotent, safe concurrently). */
export async function migratePg(pool: pg.Pool, schema = 'public'): Promise<void> {
  const s = schemaIdent(schema);
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`dpbx-migrate:${schema}`]);
    await c.query(migrationSql(s));
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

function hookText(h: unknown): string {
  if (typeof h !== 'string') throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'function hooks cannot be stored in PostgreSQL');
  return h;
}

/** Replaces the whole config in the tables with `raw` (file shape), in one transaction. */
export async function writeConfigToPg(pool: pg.Pool, raw: RawConfig, schema = 'public'): Promise<void> {
  const s = schemaIdent(schema);
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query(`DELETE FROM ${s}.domains`);
    const entries = async (col: 'client_id' | 'trunk_id', id: string, plan: RawDialplan | undefined) => {
      for (const [pattern, v] of Object.entries(plan ?? {})) {
        const callHook = typeof v === 'object' ? v.callHook : v;
        const statusHook = typeof v === 'object' && v.statusHook !== undefined ? hookText(v.statusHook) : null;
        await c.query(`INSERT INTO ${s}.dialplan_entries (${col}, pattern, call_hook, status_hook) VALUES ($1,$2,$3,$4)`, [
          id,
          pattern,
          hookText(callHook),
          statusHook,
        ]);
      }
    };
    for (const [name, d] of Object.entries(raw.domains)) {
      const { rows } = await c.query<{ id: string }>(`INSERT INTO ${s}.domains (name) VALUES ($1) RETURNING id`, [name]);
      const domainId = rows[0]!.id;
      for (const cl of d.clients ?? []) {
        const r = await c.query<{ id: string }>(
          `INSERT INTO ${s}.clients (domain_id, username, reghook, password, expires, max_contacts, codecs)
           VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id`,
          [domainId, cl.username, cl.reghook !== undefined ? hookText(cl.reghook) : null, cl.password ?? null, cl.expires ?? null, cl.maxContacts ?? 1, cl.codecs ?? null],
        );
        await entries('client_id', r.rows[0]!.id, cl.dialplan);
      }
      for (const t of d.trunks ?? []) {
        const o = t.outbound;
        const r = await c.query<{ id: string }>(
          `INSERT INTO ${s}.trunks (domain_id, name, inbound, outbound_host, outbound_port, outbound_transport,
             outbound_username, outbound_password, outbound_register, outbound_expires, codecs)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
          [domainId, t.name, t.inbound ?? [], o?.host ?? null, o?.port ?? null, o?.transport ?? null, o?.username ?? null, o?.password ?? null, o?.register ?? false, o?.expires ?? null, t.codecs ?? null],
        );
        await entries('trunk_id', r.rows[0]!.id, t.dialplan);
      }
    }
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

const idNum = (v: string) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);

/** Reads the tables into the original JSON shape (one consistent snapshot). */
export async function readConfigFromPg(pool: pg.Pool, schema = 'public'): Promise<RawConfig> {
  const s = schemaIdent(schema);
  const c = await pool.connect();
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const domains = (await c.query(`SELECT id, name FROM ${s}.domains ORDER BY id`)).rows;
    const clients = (await c.query(`SELECT * FROM ${s}.clients ORDER BY id`)).rows;
    const trunks = (await c.query(`SELECT * FROM ${s}.trunks ORDER BY id`)).rows;
    const plan = (await c.query(`SELECT * FROM ${s}.dialplan_entries ORDER BY id`)).rows;
    await c.query('COMMIT');
    const plans = new Map<string, RawDialplan>();
    for (const e of plan) {
      const owner = e.client_id !== null ? `c${e.client_id}` : `t${e.trunk_id}`;
      const d = plans.get(owner) ?? {};
      d[e.pattern] = e.status_hook !== null ? { callHook: e.call_hook, statusHook: e.status_hook } : e.call_hook;
      plans.set(owner, d);
    }
    const out: RawConfig = { domains: {} };
    const byId = new Map<string, RawDomain>();
    for (const d of domains) {
      const rd: RawDomain = { domain_id: idNum(d.id), clients: [], trunks: [] };
      out.domains[d.name] = rd;
      byId.set(d.id, rd);
    }
    for (const r of clients) {
      const cl: RawClient = { id: idNum(r.id), username: r.username, maxContacts: r.max_contacts };
      if (r.reghook !== null) cl.reghook = r.reghook;
      if (r.password !== null) cl.password = r.password;
      if (r.expires !== null) cl.expires = r.expires;
      if (r.codecs !== null) cl.codecs = r.codecs;
      const p = plans.get(`c${r.id}`);
      if (p || r.reghook === null) cl.dialplan = p ?? {};
      byId.get(r.domain_id)!.clients!.push(cl);
    }
    for (const r of trunks) {
      const t: RawTrunk = { id: idNum(r.id), name: r.name, inbound: r.inbound, dialplan: plans.get(`t${r.id}`) ?? {} };
      if (r.outbound_host !== null) {
        t.outbound = { host: r.outbound_host, register: r.outbound_register };
        if (r.outbound_port !== null) t.outbound.port = r.outbound_port;
        if (r.outbound_transport !== null) t.outbound.transport = r.outbound_transport;
        if (r.outbound_username !== null) t.outbound.username = r.outbound_username;
        if (r.outbound_password !== null) t.outbound.password = r.outbound_password;
        if (r.outbound_expires !== null) t.outbound.expires = r.outbound_expires;
      }
      if (r.codecs !== null) t.codecs = r.codecs;
      byId.get(r.domain_id)!.trunks!.push(t);
    }
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

export class PgConfigSource extends BaseConfigSource {
  readonly kind = 'pg' as const;
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly opts: PgConfigSourceOptions;
  private migrated = false;
  private listener: pg.Client | undefined;
  private listenRetry: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  readonly pgCounters = { notifications: 0, listenErrors: 0, pollReloads: 0 };

  constructor(opts: PgConfigSourceOptions) {
    super(opts.logger);
    if (!opts.connectionString) throw new ConfigError('DPBX_ERR_CONFIG_OPTIONS', 'pg config source needs DATABASE_URL');
    this.opts = opts;
    this.schema = opts.schema ?? 'public';
    schemaIdent(this.schema);
    this.pool = new pg.Pool({ connectionString: opts.connectionString, max: 3 });
    // An idle client error (server restart) must not crash the process.
    this.pool.on('error', (err) => this.logger.warn({ source: 'pg', err: err.message }, 'pg pool client error'));
    const ttl = opts.ttlSeconds ?? 60;
    if (ttl > 0) {
      this.poll = setInterval(() => {
        this.pgCounters.pollReloads++;
        void this.reload();
      }, ttl * 1000);
      this.poll.unref();
    }
  }

  protected async fetch(): Promise<Fetched> {
    let raw: RawConfig;
    try {
      if (!this.migrated) {
        await migratePg(this.pool, this.schema);
        this.migrated = true;
        // LISTEN before the first read: a change committed after the read then always sends us a NOTIFY (one
        // committed between the read and a LISTEN not yet active would wait for the next poll — forever with
        // CONFIG_TTL 0).
        await this.startListening();
      }
      raw = await readConfigFromPg(this.pool, this.schema);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // pg error messages hold no row data for these statements; the connection string is never included.
      throw new ConfigError('DPBX_ERR_CONFIG_LOAD', `cannot read config from PostgreSQL: ${(err as Error).message}`);
    }
    const config = normalizeConfig(raw, {
      filePath: this.opts.filePath ?? process.cwd(),
      ...(this.opts.defaultCodecs ? { defaultCodecs: this.opts.defaultCodecs } : {}),
    });
    return { config, fingerprint: JSON.stringify(raw) };
  }

  /** Opens the LISTEN connection; resolves once LISTEN is active, or has failed and a retry is scheduled. */
  private startListening(): Promise<void> {
    if (this.closed || this.listener) return Promise.resolve();
    const client = new pg.Client({ connectionString: this.opts.connectionString });
    this.listener = client;
    const retry = (err: Error) => {
      if (this.listener !== client) return;
      this.pgCounters.listenErrors++;
      this.logger.warn({ source: 'pg', err: err.message }, 'pg LISTEN connection lost, reconnecting');
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.closed) return;
      this.listenRetry = setTimeout(() => {
        // Changes made while we were not listening: read again once listening.
        void this.startListening().then(() => this.reload());
      }, 1000);
      this.listenRetry.unref();
    };
    client.on('error', retry);
    client.on('end', () => retry(new Error('connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel !== PG_NOTIFY_CHANNEL || msg.payload !== this.schema) return;
      this.pgCounters.notifications++;
      // Several statements of one transaction → one reload.
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), 50);
    });
    return client
      .connect()
      .then(() => client.query(`LISTEN ${PG_NOTIFY_CHANNEL}`))
      .then(
        () => undefined,
        (err: Error) => retry(err),
      );
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    for (const t of [this.poll, this.debounce, this.listenRetry]) if (t) clearTimeout(t);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}
