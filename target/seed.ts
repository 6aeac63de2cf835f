// Sample data: the test clients and endpoint→scope rows that existing load scripts send
// (test-client and the others), plus clients the scenarios use.
// Seeding is idempotent (upserts), so every store can run it at every start.
import type { Client, ClientStore, EndpointRule } from './domain.ts'
import { hashSecret } from './secrets.ts'

export interface SampleClient {
  clientId: string
  clientSecret: string
  clientName: string
  allowedScopes: string[]
  accessTokenTtlS: number
  active: boolean
}

export const SAMPLE_CLIENTS: readonly SampleClient[] = Object.freeze([
  { clientId: 'test-client', clientSecret: 'test-secret-123', clientName: 'Test Client', allowedScopes: ['read:ltp', 'read:quote'], accessTokenTtlS: 3600, active: true },
  {
    clientId: 'trading-client',
    clientSecret: 'trading-secret-456',
    clientName: 'Trading Client',
    allowedScopes: ['read:ltp', 'read:quote', 'write:orders', 'read:orders'],
    accessTokenTtlS: 3600,
    active: true
  },
  { clientId: 'limited-client', clientSecret: 'limited-secret-789', clientName: 'Limited Client', allowedScopes: ['read:quote'], accessTokenTtlS: 3600, active: true },
  {
    clientId: 'bench-client',
    clientSecret: 'bench-secret-000',
    clientName: 'Benchmark Client',
    allowedScopes: ['read:ltp', 'read:quote', 'read:orders'],
    accessTokenTtlS: 3600,
    active: true
  },
  { clientId: 'disabled-client', clientSecret: 'disabled-secret-111', clientName: 'Disabled Client', allowedScopes: ['read:ltp'], accessTokenTtlS: 3600, active: false }
])

export const SAMPLE_ENDPOINTS: readonly Omit<EndpointRule, 'id'>[] = Object.freeze([
  { clientId: null, scope: 'read:ltp', method: 'GET', endpointUrl: '/quotes/ltp', active: true },
  { clientId: null, scope: 'read:quote', method: 'GET', endpointUrl: '/quotes/full', active: true },
  { clientId: null, scope: 'read:quote', method: 'GET', endpointUrl: '/quotes/ohlc', active: true },
  { clientId: null, scope: 'write:orders', method: 'POST', endpointUrl: '/orders', active: true },
  { clientId: null, scope: 'read:orders', method: 'GET', endpointUrl: '/orders/history', active: true }
])

export function toClient(s: SampleClient): Client {
  return {
    clientId: s.clientId,
    clientName: s.clientName,
    secretHash: hashSecret(s.clientSecret),
    accessTokenTtlS: s.accessTokenTtlS,
    allowedScopes: [...s.allowedScopes],
    active: s.active
  }
}

export async function seedSampleData(store: ClientStore): Promise<void> {
  const existing = new Set((await store.listClients()).map((c) => c.clientId))
  for (const s of SAMPLE_CLIENTS) {
    // Keep an existing row (and its salt) so that several instances seeding one database agree.
    if (!existing.has(s.clientId)) await store.upsertClient(toClient(s))
  }
  for (const e of SAMPLE_ENDPOINTS) await store.upsertEndpoint(e)
}
