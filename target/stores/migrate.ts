// Versioned schema migrations: `migrations/NNN_name.sql`, applied in order, each recorded in
// schema_migrations so that running them again is a no-op. Several instances starting at once
// serialise on an advisory lock; the first applies, the others find nothing left to do.
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { MigrationError } from '../errors.ts'
import type { SqlClient, SqlQueryable } from './sql-client.ts'

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url))

/** A file starting with this line runs statement by statement outside a transaction (CONCURRENTLY). */
const NO_TRANSACTION = '-- migrate:no-transaction'

export interface Migration {
  version: number
  name: string
  sql: string
  checksum: string
  transactional: boolean
}

export interface MigrateResult {
  applied: string[]
  alreadyApplied: string[]
}

export interface MigrateOptions {
  dir?: string
  /** Give up waiting for another instance's migration after this long. */
  lockTimeoutMs?: number
  log?: (msg: string) => void
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort()
  const out: Migration[] = []
  for (const file of files) {
    const sql = await readFile(`${dir.replace(/\/?$/, '/')}${file}`, 'utf8')
    const version = Number(file.slice(0, 3))
    if (out.some((m) => m.version === version)) throw new MigrationError(`two migrations share version ${version}`)
    out.push({
      version,
      name: file.replace(/\.sql$/, ''),
      sql,
      checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16),
      transactional: !sql.trimStart().startsWith(NO_TRANSACTION)
    })
  }
  return out
}

/** Split a no-transaction file into statements. Our migration files keep `;` out of literals. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !l.trimStart().startsWith('--'))
        .join('\n')
        .trim()
    )
    .filter((s) => s.length > 0)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Apply pending migrations to the client's current schema (search_path). Waits for the lock by
 * polling pg_try_advisory_lock rather than blocking in pg_advisory_lock: a session blocked in a
 * statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the lock holder waits for every older
 * snapshot to finish, which would deadlock the two instances.
 */
export async function migrate(client: SqlClient, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(options.dir)
  const lockTimeoutMs = options.lockTimeoutMs ?? 120_000
  const log = options.log ?? (() => {})
  return client.session(async (conn) => {
    const deadline = Date.now() + lockTimeoutMs
    // One lock per schema, so tests migrating their own schemas do not queue behind each other.
    const lockKey = "hashtext('authbench.migrate:' || current_schema())"
    for (;;) {
      const { rows } = await conn.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${lockKey}) AS ok`)
      if (rows[0]?.ok) break
      if (Date.now() > deadline) throw new MigrationError(`another instance held the migration lock for over ${lockTimeoutMs} ms`)
      await sleep(100)
    }
    try {
      await conn.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      const { rows: done } = await conn.query<{ version: number; name: string; checksum: string }>('SELECT version, name, checksum FROM schema_migrations ORDER BY version')
      const doneByVersion = new Map(done.map((r) => [r.version, r]))
      const result: MigrateResult = { applied: [], alreadyApplied: [] }
      for (const m of migrations) {
        const prior = doneByVersion.get(m.version)
        if (prior) {
          // An edited migration that already ran would leave databases that differ silently.
          if (prior.checksum !== m.checksum) {
            throw new MigrationError(`migration ${m.name} changed after it was applied (checksum ${prior.checksum} → ${m.checksum}); add a new migration instead`)
          }
          result.alreadyApplied.push(m.name)
          continue
        }
        log(`applying migration ${m.name}`)
        try {
          if (m.transactional) await applyInTransaction(conn, m)
          else await applyStatementByStatement(conn, m)
        } catch (err) {
          throw new MigrationError(`migration ${m.name} failed: ${err instanceof Error ? err.message : String(err)}`, err)
        }
        result.applied.push(m.name)
      }
      return result
    } finally {
      await conn.query(`SELECT pg_advisory_unlock(${lockKey})`)
    }
  })
}

async function record(conn: SqlQueryable, m: Migration): Promise<void> {
  await conn.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum])
}

async function applyInTransaction(conn: SqlQueryable, m: Migration): Promise<void> {
  await conn.exec('BEGIN')
  try {
    await conn.exec(m.sql)
    await record(conn, m)
    await conn.exec('COMMIT')
  } catch (err) {
    await conn.exec('ROLLBACK').catch(() => {})
    throw err
  }
}

async function applyStatementByStatement(conn: SqlQueryable, m: Migration): Promise<void> {
  for (const stmt of splitStatements(m.sql)) {
    const name = /CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(\w+)/i.exec(stmt)?.[1]
    if (name) {
      // An interrupted concurrent build leaves an INVALID index that IF NOT EXISTS would keep.
      const { rows } = await conn.query(
        `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = $1 AND n.nspname = current_schema() AND NOT i.indisvalid`,
        [name]
      )
      if (rows.length > 0) await conn.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`)
    }
    await conn.exec(stmt)
  }
  // Each statement is idempotent, so a crash before this line only means the file runs again.
  await record(conn, m)
}
