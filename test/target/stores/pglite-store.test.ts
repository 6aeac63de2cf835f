// The Store contract on PGlite: the same SQL, migrations included, on PostgreSQL compiled to wasm,
// so a machine without a PostgreSQL server still runs the store's SQL.
import { PgliteSqlClient } from '../../../target/stores/sql-client.ts'
import { PostgresStore } from '../../../target/stores/postgres.ts'
import { describeStoreContract } from './store-contract.ts'

describeStoreContract('pglite', async () => {
  const client = await PgliteSqlClient.create()
  const store = await PostgresStore.open(client)
  return { store, dispose: () => store.close() }
})
