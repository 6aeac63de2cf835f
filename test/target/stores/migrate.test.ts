// The migration runner: concurrent instances apply each migration once, a second run is a no-op,
// the CONCURRENTLY index file runs outside a transaction, and an edited applied migration is refused.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MigrationError } from '../../../target/errors.ts'
import { MIGRATIONS_DIR, loadMigrations, migrate, splitStatements } from '../../../target/stores/migrate.ts'
import { PgSqlClient } from '../../../target/stores/sql-client.ts'
import { postgresUrl, uniqueName } from '../../helpers/services.ts'

const url = await postgresUrl('the migration runner tests on PostgreSQL')

describe('migration files', () => {
  it('are numbered, and the index file is marked to run outside a transaction', async () => {
    const ms = await loadMigrations()
    expect(ms.map((m) => m.version)).toEqual([...ms.map((m) => m.version)].sort((x, y) => x - y))
    const idx = ms.find((m) => /CONCURRENTLY/.test(m.sql))
    expect(idx?.transactional).toBe(false)
    for (const stmt of splitStatements(idx!.sql)) expect(stmt).toMatch(/^CREATE INDEX CONCURRENTLY IF NOT EXISTS \w+/)
  })
})

describe.skipIf(!url)('migrate() on PostgreSQL', () => {
  const schema = uniqueName('migrate')
  const mk = () => new PgSqlClient({ connectionString: url!, max: 2, min: 0, idleTimeoutMs: 1_000, maxLifetimeMs: 0, connectTimeoutMs: 5_000, schema })
  const clients: PgSqlClient[] = []
  let dir: string | null = null

  afterAll(async () => {
    await clients[0]?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
    await Promise.all(clients.map((c) => c.close()))
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('applies once across concurrent instances, then is a no-op', async () => {
    clients.push(mk(), mk())
    await clients[0]!.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    const [r1, r2] = await Promise.all(clients.map((c) => migrate(c)))
    const all = (await loadMigrations()).map((m) => m.name)
    expect([...r1!.applied, ...r2!.applied].sort()).toEqual(all)
    expect(r1!.applied.length === 0 || r2!.applied.length === 0).toBe(true)
    const again = await migrate(clients[0]!)
    expect(again).toEqual({ applied: [], alreadyApplied: all })
    const { rows } = await clients[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')
    expect(rows[0]?.n).toBe(all.length)
    const { rows: invalid } = await clients[0]!.query(
      `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND NOT i.indisvalid`,
      [schema]
    )
    expect(invalid).toEqual([])
  })

  it('refuses a migration edited after it was applied', async () => {
    dir = await mkdtemp(join(tmpdir(), 'authbench-mig-'))
    await cp(MIGRATIONS_DIR, dir, { recursive: true })
    await writeFile(join(dir, '001_init.sql'), '-- edited\nSELECT 1;\n')
    await expect(migrate(clients[0]!, { dir })).rejects.toBeInstanceOf(MigrationError)
  })
})
