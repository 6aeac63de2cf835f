// The narrow SQL surface the PostgreSQL store and the migration runner need, so that one store runs
// on a real server through pg.Pool and in process on PGlite (real PostgreSQL compiled to wasm) for
// machines without a server. Only this file and the PGlite factory know either driver.
import pg from 'pg'
import type { PoolStats } from '../domain.ts'

export interface SqlResult<R> {
  rows: R[]
  rowCount: number
}

/** One statement with bind parameters, or a parameterless multi-statement script (`exec`). */
export interface SqlQueryable {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>
  /** Run a script of several statements (no parameters), as migration files are written. */
  exec(script: string): Promise<void>
}

export interface SqlClient extends SqlQueryable {
  readonly driver: 'pg' | 'pglite'
  /**
   * Run `fn` on one connection held for its whole duration: session-level advisory locks and
   * statements that must share a session need it. PGlite has a single session anyway.
   */
  session<T>(fn: (conn: SqlQueryable) => Promise<T>): Promise<T>
  poolStats(): PoolStats
  /** Acquisitions that found every connection busy and had to queue (pool saturation). */
  poolWaitCount(): number
  close(): Promise<void>
}

export interface PgPoolOptions {
  connectionString: string
  max: number
  min: number
  idleTimeoutMs: number
  maxLifetimeMs: number
  connectTimeoutMs: number
  /** Prepended to search_path on every connection: tests isolate themselves in a schema. */
  schema?: string
  applicationName?: string
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/

/** Schema names end up in SQL text (search_path cannot be a bind parameter): allow only plain identifiers. */
export function assertIdentifier(name: string): string {
  if (!IDENT.test(name)) throw new RangeError(`not a plain lower-case SQL identifier: ${JSON.stringify(name)}`)
  return name
}

export class PgSqlClient implements SqlClient {
  readonly driver = 'pg' as const
  readonly pool: pg.Pool
  private readonly max: number
  private waits = 0

  constructor(options: PgPoolOptions) {
    this.max = options.max
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.max,
      // pg-pool's `min` only stops idle eviction below it; warmUp() opens those connections.
      min: options.min,
      // 0 means "never" in our config and in pg-pool alike.
      idleTimeoutMillis: options.idleTimeoutMs,
      // pg-pool counts lifetime in whole seconds; round up so a small non-zero value stays non-zero.
      maxLifetimeSeconds: options.maxLifetimeMs === 0 ? 0 : Math.max(1, Math.ceil(options.maxLifetimeMs / 1000)),
      connectionTimeoutMillis: options.connectTimeoutMs,
      application_name: options.applicationName ?? 'authbench',
      ...(options.schema ? { options: `-c search_path=${assertIdentifier(options.schema)},public` } : {})
    })
    // An idle client's socket error would otherwise crash the process; the pool drops that client.
    this.pool.on('error', () => {})
  }

  private noteAcquire(): void {
    // pg-pool queues every acquisition, even when a client is idle, and hands idle clients out on
    // the next tick; an acquisition waits when the queue ahead of it already uses up every idle
    // client and every connection the pool may still open.
    const free = this.pool.idleCount + (this.max - this.pool.totalCount)
    if (this.pool.waitingCount >= free) this.waits++
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    this.noteAcquire()
    const res = await this.pool.query(text, params as unknown[] | undefined)
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 }
  }

  async exec(script: string): Promise<void> {
    this.noteAcquire()
    await this.pool.query(script)
  }

  async session<T>(fn: (conn: SqlQueryable) => Promise<T>): Promise<T> {
    this.noteAcquire()
    const client = await this.pool.connect()
    let broken: Error | undefined
    try {
      return await fn({
        query: async <R>(text: string, params?: readonly unknown[]) => {
          const res = await client.query(text, params as unknown[] | undefined)
          return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 }
        },
        exec: async (script: string) => {
          await client.query(script)
        }
      })
    } catch (err) {
      // A session may hold session-level state (an advisory lock) after a failure: do not reuse it.
      broken = err instanceof Error ? err : new Error(String(err))
      throw err
    } finally {
      client.release(broken)
    }
  }

  /** Open `count` connections now so the first requests pay no TCP and auth handshake. */
  async warmUp(count: number): Promise<void> {
    const n = Math.min(count, this.max)
    if (n <= 0) return
    const clients = await Promise.all(Array.from({ length: n }, () => this.pool.connect()))
    try {
      await Promise.all(clients.map((c) => c.query('SELECT 1')))
    } finally {
      for (const c of clients) c.release()
    }
  }

  poolStats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  poolWaitCount(): number {
    return this.waits
  }

  async close(): Promise<void> {
    if (!this.pool.ending) await this.pool.end()
  }
}

/** The subset of PGlite's API used here; PGlite is imported lazily so production never loads wasm. */
interface PgliteLike {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; rowCount?: number; affectedRows?: number }>
  exec(script: string): Promise<unknown>
  close(): Promise<void>
  readonly closed: boolean
}

export class PgliteSqlClient implements SqlClient {
  readonly driver = 'pglite' as const
  private constructor(private readonly db: PgliteLike) {}

  /** An in-memory PGlite database (`dataDir` undefined) or one persisted in a directory. */
  static async create(options: { dataDir?: string; schema?: string } = {}): Promise<PgliteSqlClient> {
    const { PGlite } = await import('@electric-sql/pglite')
    const db = (await PGlite.create(options.dataDir === undefined ? {} : { dataDir: options.dataDir })) as unknown as PgliteLike
    if (options.schema) {
      const s = assertIdentifier(options.schema)
      await db.exec(`CREATE SCHEMA IF NOT EXISTS ${s}; SET search_path TO ${s}, public;`)
    }
    return new PgliteSqlClient(db)
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    const res = await this.db.query<R>(text, params ? [...params] : undefined)
    return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length }
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script)
  }

  async session<T>(fn: (conn: SqlQueryable) => Promise<T>): Promise<T> {
    return fn(this)
  }

  poolStats(): PoolStats {
    return { total: this.db.closed ? 0 : 1, idle: 0, waiting: 0 }
  }

  poolWaitCount(): number {
    return 0
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close()
  }
}
