// The Store contract: every implementation (memory, PostgreSQL, PGlite) runs this one suite, so
// the embedded default and the SQL store cannot drift apart. One store per suite keeps it cheap;
// tests stay independent through unique ids and disjoint expiry windows.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Client, Store, TokenRecord } from '../../../target/domain.ts'
import { SAMPLE_CLIENTS, SAMPLE_ENDPOINTS, seedSampleData } from '../../../target/seed.ts'
import { hashSecret } from '../../../target/secrets.ts'

export interface StoreFixture {
  store: Store
  /** A second store on the same data (another pool, as a second process would have), if any. */
  openPeer?: () => Promise<Store>
  dispose(): Promise<void>
}

const HOUR_MS = 3_600_000

export function tokenRecord(overrides: Partial<TokenRecord> = {}): TokenRecord {
  const now = Date.now()
  return {
    tokenId: randomBytes(16).toString('hex'),
    tokenHash: randomBytes(32).toString('hex'),
    tokenType: 'N',
    clientId: 'test-client',
    scopes: ['read:ltp', 'read:quote'],
    issuedAtMs: now,
    expiresAtMs: now + HOUR_MS,
    revokedAtMs: null,
    usedAtMs: null,
    ...overrides
  }
}

export function describeStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fx: StoreFixture
    let store: Store

    beforeAll(async () => {
      fx = await factory()
      store = fx.store
    })
    afterAll(async () => {
      await fx?.dispose()
    })

    it('pings', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
    })

    describe('clients', () => {
      it('round-trips, updates on upsert, and answers null for an unknown id', async () => {
        const id = `c-${randomBytes(4).toString('hex')}`
        const c: Client = { clientId: id, clientName: 'Contract', secretHash: hashSecret('s'), accessTokenTtlS: 600, allowedScopes: ['a:b', 'c:d'], active: true }
        await store.upsertClient(c)
        expect(await store.getClient(id)).toEqual(c)
        const changed = { ...c, clientName: 'Renamed', allowedScopes: [], active: false }
        await store.upsertClient(changed)
        expect(await store.getClient(id)).toEqual(changed)
        expect((await store.listClients()).filter((x) => x.clientId === id)).toEqual([changed])
        expect(await store.getClient(`missing-${id}`)).toBeNull()
      })
    })

    describe('endpoints', () => {
      it('upserts on (client, method, url), keeping the id', async () => {
        const url = `/contract/${randomBytes(4).toString('hex')}`
        await store.upsertEndpoint({ clientId: null, scope: 'read:x', method: 'GET', endpointUrl: url, active: true })
        const first = (await store.listEndpoints()).filter((e) => e.endpointUrl === url)
        expect(first).toHaveLength(1)
        await store.upsertEndpoint({ clientId: null, scope: 'read:y', method: 'GET', endpointUrl: url, active: false })
        const second = (await store.listEndpoints()).filter((e) => e.endpointUrl === url)
        expect(second).toEqual([{ ...first[0], scope: 'read:y', active: false }])
        // A per-client rule and another method are distinct rules.
        await store.upsertEndpoint({ clientId: 'test-client', scope: 'read:z', method: 'GET', endpointUrl: url, active: true })
        await store.upsertEndpoint({ clientId: null, scope: 'write:x', method: 'POST', endpointUrl: url, active: true })
        const all = (await store.listEndpoints()).filter((e) => e.endpointUrl === url)
        expect(all).toHaveLength(3)
        expect(new Set(all.map((e) => e.id)).size).toBe(3)
      })
    })

    it('seeds sample data idempotently, keeping existing secret hashes', async () => {
      await seedSampleData(store)
      const clients1 = await store.listClients()
      const endpoints1 = await store.listEndpoints()
      await seedSampleData(store)
      expect(await store.listClients()).toEqual(clients1)
      expect(await store.listEndpoints()).toEqual(endpoints1)
      for (const s of SAMPLE_CLIENTS) expect(clients1.find((c) => c.clientId === s.clientId)?.allowedScopes).toEqual(s.allowedScopes)
      for (const e of SAMPLE_ENDPOINTS) expect(endpoints1.filter((x) => x.endpointUrl === e.endpointUrl && x.method === e.method && x.clientId === null)).toHaveLength(1)
    })

    describe('tokens', () => {
      it('round-trips every field, including an empty scope list', async () => {
        const a = tokenRecord()
        const b = tokenRecord({ tokenType: 'O', scopes: [], clientId: 'other' })
        await store.insertTokens([a, b])
        expect(await store.findToken(a.tokenId)).toEqual(a)
        expect(await store.findToken(b.tokenId)).toEqual(b)
        expect(await store.findToken('0'.repeat(32))).toBeNull()
      })

      it('inserts idempotently: an existing row is kept, duplicates in one batch are harmless', async () => {
        const a = tokenRecord()
        await store.insertTokens([a, a])
        await store.insertTokens([{ ...a, tokenHash: 'f'.repeat(64) }])
        expect(await store.findToken(a.tokenId)).toEqual(a)
        await expect(store.insertTokens([])).resolves.toBeUndefined()
      })

      it('counts tokens', async () => {
        const before = await store.countTokens()
        await store.insertTokens([tokenRecord(), tokenRecord(), tokenRecord()])
        expect(await store.countTokens()).toBe(before + 3)
      })

      it('revokes, counting only state changes', async () => {
        const a = tokenRecord()
        const b = tokenRecord()
        await store.insertTokens([a, b])
        const at = Date.now()
        expect(await store.revokeTokens([a], at)).toBe(1)
        expect((await store.findToken(a.tokenId))?.revokedAtMs).toBe(at)
        expect(await store.revokeTokens([a, b], at + 5)).toBe(1)
        expect((await store.findToken(a.tokenId))?.revokedAtMs).toBe(at)
        expect(await store.revokeTokens([a, b], at + 9)).toBe(0)
        expect(await store.revokeTokens([], at)).toBe(0)
      })

      it('keeps a revocation that arrived before the batch writer flushed the token', async () => {
        const a = tokenRecord()
        const at = Date.now()
        expect(await store.revokeTokens([a], at)).toBe(1)
        await store.insertTokens([a])
        expect(await store.findToken(a.tokenId)).toEqual({ ...a, revokedAtMs: at })
      })

      it('consumes a one-time token once, flushed or not', async () => {
        const flushed = tokenRecord({ tokenType: 'O' })
        await store.insertTokens([flushed])
        const at = Date.now()
        expect(await store.consumeOtt(flushed, at)).toBe(true)
        expect(await store.consumeOtt(flushed, at + 1)).toBe(false)
        expect((await store.findToken(flushed.tokenId))?.usedAtMs).toBe(at)

        const pending = tokenRecord({ tokenType: 'O' })
        expect(await store.consumeOtt(pending, at)).toBe(true)
        await store.insertTokens([pending])
        expect(await store.findToken(pending.tokenId)).toEqual({ ...pending, usedAtMs: at })
        expect(await store.consumeOtt(pending, at)).toBe(false)
      })

      it('consumes a one-time token exactly once under 200 concurrent attempts', async () => {
        const ott = tokenRecord({ tokenType: 'O' })
        const peer = fx.openPeer ? await fx.openPeer() : null
        try {
          const stores = peer ? [store, peer] : [store]
          const results = await Promise.all(Array.from({ length: 200 }, (_, i) => stores[i % stores.length]!.consumeOtt(ott, Date.now())))
          expect(results.filter(Boolean)).toHaveLength(1)
        } finally {
          await peer?.close()
        }
      })

      it('records consumption decided elsewhere, idempotently', async () => {
        const a = tokenRecord({ tokenType: 'O' })
        const b = tokenRecord({ tokenType: 'O' })
        await store.insertTokens([a])
        const at = Date.now()
        await store.markOttUsed([a, b], at)
        await store.markOttUsed([a, b], at + 50)
        expect((await store.findToken(a.tokenId))?.usedAtMs).toBe(at)
        expect((await store.findToken(b.tokenId))?.usedAtMs).toBe(at)
        expect(await store.consumeOtt(a, at)).toBe(false)
        await store.insertTokens([b])
        expect((await store.findToken(b.tokenId))?.usedAtMs).toBe(at)
      })

      it('deletes expired tokens in bounded batches and stops on a short batch', async () => {
        // Far in the past, so no other test's tokens (which expire an hour from now) fall in range.
        const base = 1_000_000_000
        const expired = Array.from({ length: 25 }, (_, i) => tokenRecord({ issuedAtMs: base - 10_000, expiresAtMs: base + i }))
        const live = tokenRecord({ issuedAtMs: base - 10_000, expiresAtMs: base + 1_000_000 })
        await store.insertTokens([...expired, live])
        const before = base + 500_000
        expect(await store.deleteExpiredBatch(before, 10)).toBe(10)
        expect(await store.deleteExpiredBatch(before, 10)).toBe(10)
        expect(await store.deleteExpiredBatch(before, 10)).toBe(5)
        expect(await store.deleteExpiredBatch(before, 10)).toBe(0)
        for (const t of expired) expect(await store.findToken(t.tokenId)).toBeNull()
        expect(await store.findToken(live.tokenId)).toEqual(live)
        // Expiry is strict: a token expiring exactly at `before` stays.
        const edge = tokenRecord({ issuedAtMs: base - 10_000, expiresAtMs: base + 600_000 })
        await store.insertTokens([edge])
        expect(await store.deleteExpiredBatch(edge.expiresAtMs, 10)).toBe(0)
        expect(await store.deleteExpiredBatch(edge.expiresAtMs + 1, 10)).toBe(1)
      })

      it('refuses a batch size that is not a positive integer', async () => {
        for (const bad of [0, -1, 1.5, Number.NaN]) {
          await expect(store.deleteExpiredBatch(Date.now(), bad)).rejects.toThrow(RangeError)
        }
      })
    })
  })
}
