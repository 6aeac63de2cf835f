// The Store contract on a real PostgreSQL, in a schema of its own that is dropped afterwards.
// A second store on its own pool plays the second process in the OTT race.
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../target/config.ts'
import { PostgresStore } from '../../../target/stores/postgres.ts'
import { postgresUrl, uniqueName } from '../../helpers/services.ts'
import { describeStoreContract } from './store-contract.ts'

const url = await postgresUrl('the Store contract on PostgreSQL')
const silent = { info() {}, warn() {}, error() {} }

async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl })
  await c.connect()
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await c.end()
  }
}

if (url) {
  const schema = uniqueName('contract')
  const config = loadConfig({ DATABASE_URL: url, DB_POOL_MAX: '8', DB_POOL_MIN: '2', SEED_SAMPLE_DATA: 'false' })
  describeStoreContract('postgres', async () => {
    const store = await PostgresStore.connect(config, silent, { schema })
    return {
      store,
      openPeer: () => PostgresStore.connect(config, silent, { schema }),
      dispose: async () => {
        await store.close()
        await dropSchema(url, schema)
      }
    }
  })
}

// Without PostgreSQL (and without CI=true, where postgresUrl throws instead), this is reported skipped.
describe.skipIf(!url)('PostgresStore pool', () => {
  it('applies the pool settings, warms up DB_POOL_MIN connections and counts waits', async () => {
    const s2 = uniqueName('pool')
    const cfg = loadConfig({
      DATABASE_URL: url!,
      DB_POOL_MAX: '3',
      DB_POOL_MIN: '2',
      DB_POOL_IDLE_TIMEOUT_MS: '60000',
      DB_POOL_MAX_LIFETIME_MS: '1500',
      DB_POOL_CONNECT_TIMEOUT_MS: '2000'
    })
    const store = await PostgresStore.connect(cfg, silent, { schema: s2 })
    try {
      const opts = (store.client as unknown as { pool: pg.Pool }).pool.options
      expect(opts).toMatchObject({ max: 3, min: 2, idleTimeoutMillis: 60_000, maxLifetimeSeconds: 2, connectionTimeoutMillis: 2_000 })
      expect(store.poolStats()).toMatchObject({ total: 2, idle: 2, waiting: 0 })
      expect(store.poolWaitCount()).toBe(0)
      await Promise.all(Array.from({ length: 10 }, () => store.client.query('SELECT pg_sleep(0.02)')))
      expect(store.poolWaitCount()).toBeGreaterThan(0)
      expect(store.poolStats().total).toBeLessThanOrEqual(3)
    } finally {
      await store.close()
      await dropSchema(url!, s2)
    }
  })
})
