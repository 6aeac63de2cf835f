// Apply the PostgreSQL migrations by hand (the target also applies them at start):
//   DATABASE_URL=postgres://… node --import tsx scripts/migrate.ts [--schema name] [--status]
// Exits 2 on a usage or configuration error, 1 when a migration fails.
import { parseArgs } from 'node:util'
import { loadMigrations, migrate } from '../target/stores/migrate.ts'
import { PgSqlClient, assertIdentifier } from '../target/stores/sql-client.ts'

async function main(): Promise<number> {
  let args
  try {
    args = parseArgs({ options: { schema: { type: 'string' }, status: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
  } catch (err) {
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`)
    return 2
  }
  if (args.values.help) {
    console.log('usage: DATABASE_URL=postgres://… node --import tsx scripts/migrate.ts [--schema name] [--status]')
    return 0
  }
  const url = process.env.DATABASE_URL
  if (!url) {
    console.error('migrate: DATABASE_URL is not set')
    return 2
  }
  const schema = args.values.schema
  if (schema !== undefined) {
    try {
      assertIdentifier(schema)
    } catch (err) {
      console.error(`migrate: --schema ${err instanceof Error ? err.message : String(err)}`)
      return 2
    }
  }
  const client = new PgSqlClient({ connectionString: url, max: 1, min: 0, idleTimeoutMs: 1_000, maxLifetimeMs: 0, connectTimeoutMs: 5_000, ...(schema ? { schema } : {}) })
  try {
    if (schema) await client.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    if (args.values.status) {
      const applied = await client
        .query<{ version: number }>('SELECT version FROM schema_migrations')
        .then((r) => new Set(r.rows.map((x) => x.version)))
        .catch(() => new Set<number>())
      for (const m of await loadMigrations()) console.log(`${applied.has(m.version) ? 'applied ' : 'pending '} ${m.name}`)
      return 0
    }
    const res = await migrate(client, { log: (m) => console.log(m) })
    console.log(res.applied.length ? `applied: ${res.applied.join(', ')}` : `up to date (${res.alreadyApplied.length} migrations)`)
    return 0
  } catch (err) {
    console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  } finally {
    await client.close()
  }
}

process.exitCode = await main()
