// The PostgreSQL store: the same semantics as MemoryStore (one contract suite runs on both), with
// each batch operation one statement in one round trip. SQL runs through SqlClient, so the store
// works on pg.Pool in production and on PGlite where no server exists.
//
// The SQL text is exported: the EXPLAIN tests read the plans of exactly these statements.
import type { Config } from '../config.ts'
import type { Logger } from '../logger.ts'
import type { Client, EndpointRule, PoolStats, Store, TokenRecord, TokenType } from '../domain.ts'
import { DependencyError } from '../errors.ts'
import { migrate } from './migrate.ts'
import { PgSqlClient, assertIdentifier } from './sql-client.ts'
import type { SqlClient } from './sql-client.ts'

// Times cross the boundary as epoch milliseconds (float8 keeps them exact up to year 287,396).
const TS = (param: string) => `to_timestamp(${param}::float8 / 1000)`
const MS = (col: string) => `round(extract(epoch FROM ${col}) * 1000)::float8`

const TOKEN_COLUMNS = `token_id, token_hash, token_type, client_id, scopes,
  ${MS('issued_at')} AS issued_at_ms, ${MS('expires_at')} AS expires_at_ms,
  ${MS('revoked_at')} AS revoked_at_ms, ${MS('used_at')} AS used_at_ms`

// Rows arrive as parallel arrays and are unnested, so a batch of any size is one statement. Scopes
// travel space-joined (OAuth scope syntax, RFC 6749 §3.3, has no spaces inside a scope) because
// unnest flattens a two-dimensional array.
const UNNEST_TOKENS = `SELECT t.id, t.hash, t.type, t.client, string_to_array(t.scopes, ' '),
    ${TS('t.iat')}, ${TS('t.exp')}, ${TS('t.rev')}, ${TS('t.used')}
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::float8[], $9::float8[])
    AS t(id, hash, type, client, scopes, iat, exp, rev, used)`

const INSERT_COLUMNS = '(token_id, token_hash, token_type, client_id, scopes, issued_at, expires_at, revoked_at, used_at)'

export const INSERT_TOKENS_SQL = `INSERT INTO tokens ${INSERT_COLUMNS} ${UNNEST_TOKENS} ON CONFLICT (token_id) DO NOTHING`

export const FIND_TOKEN_SQL = `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE token_id = $1`

/** The validation lookup: only what a verified JWT does not already say. Index-only scan. */
export const TOKEN_STATE_SQL = `SELECT token_type, ${MS('expires_at')} AS expires_at_ms, ${MS('revoked_at')} AS revoked_at_ms, ${MS('used_at')} AS used_at_ms
  FROM tokens WHERE token_id = $1`

/**
 * Revocation upserts: a revoke can arrive before the batch writer flushed the token, so the row is
 * created revoked and the later INSERT … DO NOTHING keeps it. The WHERE makes a second revoke a no-op
 * (and not counted). $10 is the revocation time.
 */
export const REVOKE_TOKENS_SQL = `INSERT INTO tokens ${INSERT_COLUMNS}
  SELECT id, hash, type, client, scopes, iat, exp, ${TS('$10')}, used FROM (${UNNEST_TOKENS}) AS r(id, hash, type, client, scopes, iat, exp, rev, used)
  ON CONFLICT (token_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at WHERE tokens.revoked_at IS NULL`

/** Same shape for OTT consumption decided elsewhere (a Redis claim). $10 is the time of use. */
export const MARK_OTT_USED_SQL = `INSERT INTO tokens ${INSERT_COLUMNS}
  SELECT id, hash, type, client, scopes, iat, exp, rev, ${TS('$10')} FROM (${UNNEST_TOKENS}) AS r(id, hash, type, client, scopes, iat, exp, rev, used)
  ON CONFLICT (token_id) DO UPDATE SET used_at = EXCLUDED.used_at WHERE tokens.used_at IS NULL`

/**
 * Exactly-once OTT consumption across processes in one statement. Concurrent callers on a new key
 * serialise on the unique index; ON CONFLICT DO UPDATE re-evaluates its WHERE against the latest row
 * version, so only the caller that set used_at gets a row back.
 */
export const CONSUME_OTT_SQL = `INSERT INTO tokens ${INSERT_COLUMNS}
  VALUES ($1, $2, $3, $4, string_to_array($5, ' '), ${TS('$6')}, ${TS('$7')}, ${TS('$8')}, ${TS('$9')})
  ON CONFLICT (token_id) DO UPDATE SET used_at = EXCLUDED.used_at WHERE tokens.used_at IS NULL
  RETURNING token_id`

/**
 * A bounded delete, so that one sweep batch locks and writes a bounded number of rows: through a
 * subquery with LIMIT (DELETE has no LIMIT in PostgreSQL).
 * `= ANY(ARRAY(subquery))` rather than `IN (subquery)`: with IN the planner hash-joins the batch
 * against a sequential scan of the whole table (seen in EXPLAIN on 100k rows), so every batch would
 * read every row; ARRAY() runs the LIMITed index walk once and deletes through the primary key.
 */
export const DELETE_EXPIRED_SQL = `DELETE FROM tokens WHERE token_id = ANY(ARRAY(
  SELECT token_id FROM tokens WHERE expires_at < ${TS('$1')} LIMIT $2))`

/** Revoke a client's outstanding tokens (a client disabled or its secret leaked). $2 is now. */
export const REVOKE_CLIENT_TOKENS_SQL = `UPDATE tokens SET revoked_at = ${TS('$2')}
  WHERE client_id = $1 AND revoked_at IS NULL AND expires_at > ${TS('$2')}`

export const COUNT_TOKENS_SQL = 'SELECT count(*)::float8 AS n FROM tokens'

const CLIENT_COLUMNS = 'client_id, client_secret_hash, client_name, access_token_ttl_s, allowed_scopes, active'
export const GET_CLIENT_SQL = `SELECT ${CLIENT_COLUMNS} FROM clients WHERE client_id = $1`
export const LIST_CLIENTS_SQL = `SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY client_id`
export const UPSERT_CLIENT_SQL = `INSERT INTO clients (${CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (client_id) DO UPDATE SET client_secret_hash = EXCLUDED.client_secret_hash, client_name = EXCLUDED.client_name,
    access_token_ttl_s = EXCLUDED.access_token_ttl_s, allowed_scopes = EXCLUDED.allowed_scopes, active = EXCLUDED.active, updated_at = now()`

const ENDPOINT_COLUMNS = 'id, client_id, scope, method, endpoint_url, active'
export const LIST_ENDPOINTS_SQL = `SELECT ${ENDPOINT_COLUMNS} FROM endpoints ORDER BY id`
export const UPSERT_ENDPOINT_SQL = `INSERT INTO endpoints (client_id, scope, method, endpoint_url, active) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (COALESCE(client_id, ''), method, endpoint_url) DO UPDATE SET scope = EXCLUDED.scope, active = EXCLUDED.active`
/**
 * Rules for a resource, matched case-insensitively: a router in front of the API that treats
 * /Quotes/LTP and /quotes/ltp alike must not find a different scope rule (or none) for one of them.
 */
export const FIND_ENDPOINTS_BY_URL_SQL = `SELECT ${ENDPOINT_COLUMNS} FROM endpoints
  WHERE lower(endpoint_url) = lower($1) AND active ORDER BY id`

interface TokenRow {
  token_id: string
  token_hash: string
  token_type: string
  client_id: string
  scopes: string[]
  issued_at_ms: number
  expires_at_ms: number
  revoked_at_ms: number | null
  used_at_ms: number | null
}

interface ClientRow {
  client_id: string
  client_secret_hash: string
  client_name: string
  access_token_ttl_s: number
  allowed_scopes: string[]
  active: boolean
}

interface EndpointRow {
  id: number
  client_id: string | null
  scope: string
  method: string
  endpoint_url: string
  active: boolean
}

/** What validation needs from the store beyond the JWT's own claims. */
import type { TokenStateRecord } from '../domain.ts'
export type { TokenStateRecord }

export interface PostgresStoreOptions {
  /** Run against this client (PGlite, or a pool built elsewhere) instead of building a pg.Pool. */
  client?: SqlClient
  /** Create and use this schema (search_path) so tests and tenants do not collide. */
  schema?: string
  /** Apply pending migrations at start (default true); scripts/migrate.ts applies them by hand. */
  migrate?: boolean
}

const toRecord = (r: TokenRow): TokenRecord => ({
  tokenId: r.token_id,
  tokenHash: r.token_hash,
  tokenType: r.token_type as TokenType,
  clientId: r.client_id,
  scopes: r.scopes,
  issuedAtMs: r.issued_at_ms,
  expiresAtMs: r.expires_at_ms,
  revokedAtMs: r.revoked_at_ms,
  usedAtMs: r.used_at_ms
})

const toClient = (r: ClientRow): Client => ({
  clientId: r.client_id,
  clientName: r.client_name,
  secretHash: r.client_secret_hash,
  accessTokenTtlS: r.access_token_ttl_s,
  allowedScopes: r.allowed_scopes,
  active: r.active
})

const toRule = (r: EndpointRow): EndpointRule => ({
  id: r.id,
  clientId: r.client_id,
  scope: r.scope,
  method: r.method,
  endpointUrl: r.endpoint_url,
  active: r.active
})

/** Parallel arrays for UNNEST_TOKENS ($1..$9), last record winning for a repeated id. */
function tokenArrays(records: readonly TokenRecord[]): unknown[] {
  const byId = new Map<string, TokenRecord>()
  for (const r of records) byId.set(r.tokenId, r)
  const rs = [...byId.values()]
  for (const r of rs) {
    if (r.scopes.some((s) => s === '' || /\s/.test(s))) throw new RangeError(`scope with whitespace or empty in token ${r.tokenId}`)
  }
  return [
    rs.map((r) => r.tokenId),
    rs.map((r) => r.tokenHash),
    rs.map((r) => r.tokenType),
    rs.map((r) => r.clientId),
    rs.map((r) => r.scopes.join(' ')),
    rs.map((r) => r.issuedAtMs),
    rs.map((r) => r.expiresAtMs),
    rs.map((r) => r.revokedAtMs),
    rs.map((r) => r.usedAtMs)
  ]
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const
  private closed = false

  private constructor(private readonly sql: SqlClient) {}

  /**
   * Build the pg.Pool from every pool setting in the config, create the schema if asked, apply
   * migrations (serialised across instances), and warm up `dbPoolMin` connections so the first
   * requests do not pay the TCP and authentication handshake.
   */
  static async connect(config: Config, logger: Logger, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    let client = options.client
    if (!client) {
      if (!config.databaseUrl) throw new DependencyError('AUTH_ERR_STORE', 'DATABASE_URL is required for the postgres store')
      client = new PgSqlClient({
        connectionString: config.databaseUrl,
        max: config.dbPoolMax,
        min: config.dbPoolMin,
        idleTimeoutMs: config.dbPoolIdleTimeoutMs,
        maxLifetimeMs: config.dbPoolMaxLifetimeMs,
        connectTimeoutMs: config.dbPoolConnectTimeoutMs,
        ...(options.schema ? { schema: options.schema } : {})
      })
    }
    try {
      return await PostgresStore.open(client, { ...options, log: (m) => logger.info({ store: 'postgres' }, m) })
    } catch (err) {
      if (!options.client) await client.close().catch(() => {})
      throw err instanceof DependencyError ? err : new DependencyError('AUTH_ERR_STORE', `postgres store failed to start: ${errMessage(err)}`, err)
    }
  }

  /** Open the store on a ready SqlClient (PGlite in tests and on machines without PostgreSQL). */
  static async open(client: SqlClient, options: Omit<PostgresStoreOptions, 'client'> & { warmUp?: number; log?: (msg: string) => void } = {}): Promise<PostgresStore> {
    if (options.schema) {
      const schema = assertIdentifier(options.schema)
      // search_path is per connection (set at connect for pg.Pool); the schema only has to exist.
      await client.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
      if (client.driver === 'pglite') await client.exec(`SET search_path TO ${schema}, public`)
    }
    if (options.migrate !== false) {
      const res = await migrate(client, options.log ? { log: options.log } : {})
      if (res.applied.length > 0) options.log?.(`applied migrations: ${res.applied.join(', ')}`)
    }
    if (client instanceof PgSqlClient) await client.warmUp(options.warmUp ?? client.pool.options.min ?? 0)
    return new PostgresStore(client)
  }

  private async run<R>(what: string, text: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    if (this.closed) throw new DependencyError('AUTH_ERR_STORE', 'store is closed')
    try {
      return await this.sql.query<R>(text, params)
    } catch (err) {
      throw new DependencyError('AUTH_ERR_STORE', `${what} failed: ${errMessage(err)}`, err)
    }
  }

  async getClient(clientId: string): Promise<Client | null> {
    const { rows } = await this.run<ClientRow>('getClient', GET_CLIENT_SQL, [clientId])
    return rows[0] ? toClient(rows[0]) : null
  }

  async listClients(): Promise<Client[]> {
    return (await this.run<ClientRow>('listClients', LIST_CLIENTS_SQL)).rows.map(toClient)
  }

  async listEndpoints(): Promise<EndpointRule[]> {
    return (await this.run<EndpointRow>('listEndpoints', LIST_ENDPOINTS_SQL)).rows.map(toRule)
  }

  /** Active rules for a resource, case-insensitive. Not in the Store interface yet (see report). */
  async findEndpointsByUrl(endpointUrl: string): Promise<EndpointRule[]> {
    return (await this.run<EndpointRow>('findEndpointsByUrl', FIND_ENDPOINTS_BY_URL_SQL, [endpointUrl])).rows.map(toRule)
  }

  async upsertClient(c: Client): Promise<void> {
    await this.run('upsertClient', UPSERT_CLIENT_SQL, [c.clientId, c.secretHash, c.clientName, c.accessTokenTtlS, c.allowedScopes, c.active])
  }

  async upsertEndpoint(rule: Omit<EndpointRule, 'id'>): Promise<void> {
    await this.run('upsertEndpoint', UPSERT_ENDPOINT_SQL, [rule.clientId, rule.scope, rule.method, rule.endpointUrl, rule.active])
  }

  async insertTokens(records: readonly TokenRecord[]): Promise<void> {
    if (records.length === 0) return
    await this.run('insertTokens', INSERT_TOKENS_SQL, tokenArrays(records))
  }

  async findToken(tokenId: string): Promise<TokenRecord | null> {
    const { rows } = await this.run<TokenRow>('findToken', FIND_TOKEN_SQL, [tokenId])
    return rows[0] ? toRecord(rows[0]) : null
  }

  /** The validation lookup: an index-only scan of the covering index. */
  async findTokenState(tokenId: string): Promise<TokenStateRecord | null> {
    const { rows } = await this.run<{ token_type: string; expires_at_ms: number; revoked_at_ms: number | null; used_at_ms: number | null }>('findTokenState', TOKEN_STATE_SQL, [
      tokenId
    ])
    const r = rows[0]
    return r ? { tokenType: r.token_type as TokenType, expiresAtMs: r.expires_at_ms, revokedAtMs: r.revoked_at_ms, usedAtMs: r.used_at_ms } : null
  }

  async revokeTokens(records: readonly TokenRecord[], atMs: number): Promise<number> {
    if (records.length === 0) return 0
    return (await this.run('revokeTokens', REVOKE_TOKENS_SQL, [...tokenArrays(records), atMs])).rowCount
  }

  async consumeOtt(record: TokenRecord, atMs: number): Promise<boolean> {
    const r = record
    const params = [r.tokenId, r.tokenHash, r.tokenType, r.clientId, r.scopes.join(' '), r.issuedAtMs, r.expiresAtMs, r.revokedAtMs, atMs]
    return (await this.run('consumeOtt', CONSUME_OTT_SQL, params)).rows.length === 1
  }

  async markOttUsed(records: readonly TokenRecord[], atMs: number): Promise<void> {
    if (records.length === 0) return
    await this.run('markOttUsed', MARK_OTT_USED_SQL, [...tokenArrays(records), atMs])
  }

  /** Revoke every unexpired, unrevoked token of a client; returns how many. Not in Store yet. */
  async revokeClientTokens(clientId: string, atMs: number): Promise<number> {
    return (await this.run('revokeClientTokens', REVOKE_CLIENT_TOKENS_SQL, [clientId, atMs])).rowCount
  }

  async deleteExpiredBatch(beforeMs: number, limit: number): Promise<number> {
    // LIMIT 0 or a negative LIMIT would make the sweeper loop forever or delete nothing.
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`batch size must be a positive integer, got ${limit}`)
    return (await this.run('deleteExpiredBatch', DELETE_EXPIRED_SQL, [beforeMs, limit])).rowCount
  }

  async countTokens(): Promise<number> {
    const { rows } = await this.run<{ n: number }>('countTokens', COUNT_TOKENS_SQL)
    return rows[0]?.n ?? 0
  }

  async ping(): Promise<void> {
    await this.run('ping', 'SELECT 1')
  }

  poolStats(): PoolStats {
    return this.sql.poolStats()
  }

  /** Acquisitions that had to wait for a connection since start (a Prometheus counter). */
  poolWaitCount(): number {
    return this.sql.poolWaitCount()
  }

  /** The SqlClient underneath, for tests and scripts (EXPLAIN, fixtures). */
  get client(): SqlClient {
    return this.sql
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.sql.close()
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
