// The Store contract on the embedded default.
import { MemoryStore } from '../../../target/stores/memory.ts'
import { describeStoreContract } from './store-contract.ts'

describeStoreContract('memory', async () => {
  const store = new MemoryStore()
  return { store, dispose: () => store.close() }
})
