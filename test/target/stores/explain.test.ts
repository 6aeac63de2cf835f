// The indexes of seeds/003 (PRD-028), proven: EXPLAIN of the store's own SQL constants on tables
// of 100k rows, where a sequential scan would be the planner's choice without them. Runs on the
// real PostgreSQL, or on PGlite when no server is reachable (outside CI). The plans are saved to
// reports/explain-plans.txt for the closing note.
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CONSUME_OTT_SQL,
  DELETE_EXPIRED_SQL,
  FIND_ENDPOINTS_BY_URL_SQL,
  FIND_TOKEN_SQL,
  INSERT_TOKENS_SQL,
  PostgresStore,
  REVOKE_CLIENT_TOKENS_SQL,
  REVOKE_TOKENS_SQL,
  TOKEN_STATE_SQL
} from '../../../target/stores/postgres.ts'
import { PgSqlClient, PgliteSqlClient } from '../../../target/stores/sql-client.ts'
import type { SqlClient } from '../../../target/stores/sql-client.ts'
import { postgresUrl, uniqueName } from '../../helpers/services.ts'

const ROWS = 100_000
const url = await postgresUrl('EXPLAIN on PostgreSQL (falling back to PGlite)')
const schema = uniqueName('explain')
const NOW_MS = Date.now()
const plans: string[] = []

let client: SqlClient
let store: PostgresStore

async function explain(title: string, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await client.query<Record<string, string>>(`EXPLAIN (COSTS OFF) ${sql}`, params)
  const plan = rows.map((r) => Object.values(r)[0]).join('\n')
  plans.push(`### ${title}\n${sql.replace(/\s+/g, ' ').trim()}\n-- params: ${JSON.stringify(params)}\n${plan}\n`)
  return plan
}

beforeAll(async () => {
  client = url
    ? new PgSqlClient({ connectionString: url, max: 2, min: 0, idleTimeoutMs: 10_000, maxLifetimeMs: 0, connectTimeoutMs: 5_000, schema })
    : await PgliteSqlClient.create({ schema })
  store = await PostgresStore.open(client, { schema })
  // One statement per table: 100k tokens over 1,000 clients; 20% expired, 10% revoked, 10% OTTs.
  await client.query(
    `INSERT INTO tokens (token_id, token_hash, token_type, client_id, scopes, issued_at, expires_at, revoked_at, used_at)
    SELECT md5(i::text), md5('h' || i), CASE WHEN i % 10 = 0 THEN 'O' ELSE 'N' END, 'client-' || (i % 1000), '{read:ltp,read:quote}',
      to_timestamp($1::float8 / 1000) - interval '1 hour',
      to_timestamp($1::float8 / 1000) + ((i % 5) - 1) * interval '1 hour' + (i % 3600) * interval '1 second',
      CASE WHEN i % 10 = 3 THEN to_timestamp($1::float8 / 1000) END,
      NULL
    FROM generate_series(1, ${ROWS}) AS i`,
    [NOW_MS]
  )
  await client.query(`INSERT INTO endpoints (client_id, scope, method, endpoint_url, active)
    SELECT NULL, 'scope:' || (i % 50), 'GET', '/api/v1/Resource-' || i, i % 20 <> 0 FROM generate_series(1, ${ROWS}) AS i`)
  // VACUUM sets the visibility map, which an index-only scan needs to skip the heap.
  await client.exec('VACUUM ANALYZE tokens')
  await client.exec('VACUUM ANALYZE endpoints')
}, 180_000)

afterAll(async () => {
  const { rows } = await client.query<{ v: string }>('SELECT version() AS v').catch(() => ({ rows: [{ v: '?' }] }))
  const header = `EXPLAIN plans of target/stores/postgres.ts on ${ROWS} tokens and ${ROWS} endpoints\n${rows[0]?.v}\n${new Date().toISOString()}\n\n`
  await mkdir('reports', { recursive: true })
  await writeFile('reports/explain-plans.txt', header + plans.join('\n'))
  if (url) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {})
  await store?.close()
})

describe(`EXPLAIN on ${ROWS} rows (${url ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('validation lookup is an index-only scan on the covering index', async () => {
    const plan = await explain('validation (TOKEN_STATE_SQL)', TOKEN_STATE_SQL, [md5Hex(4242)])
    expect(plan).toMatch(/Index Only Scan using tokens_validation_covering_idx/)
  })

  it("revoking a client's tokens uses the partial composite index on unrevoked tokens", async () => {
    const plan = await explain('revoke all of a client (REVOKE_CLIENT_TOKENS_SQL)', REVOKE_CLIENT_TOKENS_SQL, ['client-7', NOW_MS])
    expect(plan).toMatch(/tokens_unrevoked_client_expiry_idx/)
    expect(plan).not.toMatch(/Seq Scan/)
  })

  it("the sweeper's batch walks the expiry index", async () => {
    const plan = await explain('cleanup batch (DELETE_EXPIRED_SQL)', DELETE_EXPIRED_SQL, [NOW_MS, 10_000])
    expect(plan).toMatch(/Index Only Scan using tokens_expires_at_idx/)
    expect(plan).not.toMatch(/Seq Scan/)
  })

  it('case-insensitive resource lookup uses the LOWER() expression index', async () => {
    const plan = await explain('resource lookup (FIND_ENDPOINTS_BY_URL_SQL)', FIND_ENDPOINTS_BY_URL_SQL, ['/API/V1/resource-777'])
    expect(plan).toMatch(/endpoints_url_lower_idx/)
    expect(await store.findEndpointsByUrl('/API/V1/resource-777')).toHaveLength(1)
  })

  it('records the plans of the token write paths (primary key as the conflict arbiter)', async () => {
    const arrays = [[md5Hex(1)], ['h'], ['N'], ['client-1'], ['read:ltp'], [NOW_MS], [NOW_MS + 1], [null], [null]]
    expect(await explain('full token lookup (FIND_TOKEN_SQL)', FIND_TOKEN_SQL, [md5Hex(99)])).toMatch(/tokens_pkey|tokens_validation_covering_idx/)
    expect(await explain('batch insert (INSERT_TOKENS_SQL)', INSERT_TOKENS_SQL, arrays)).toMatch(/Conflict Arbiter Indexes: tokens_pkey/)
    expect(await explain('batch revoke (REVOKE_TOKENS_SQL)', REVOKE_TOKENS_SQL, [...arrays, NOW_MS])).toMatch(/Conflict Arbiter Indexes: tokens_pkey/)
    expect(await explain('OTT consume (CONSUME_OTT_SQL)', CONSUME_OTT_SQL, [md5Hex(10), 'h', 'O', 'client-10', 'read:ltp', NOW_MS, NOW_MS + 1, null, NOW_MS])).toMatch(
      /Conflict Arbiter Indexes: tokens_pkey/
    )
  })
})

/** The ids the fixture gives row i: md5(i::text). */
function md5Hex(i: number): string {
  return createHash('md5').update(String(i)).digest('hex')
}
