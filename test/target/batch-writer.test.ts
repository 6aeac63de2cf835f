// The token batch writer: a token is valid before its batch is flushed, a failing flush is retried
// and loses nothing, and the pending bound pushes back with 503 and Retry-After.
import { afterEach, describe, expect, it } from 'vitest'
import type { TokenRecord } from '../../target/domain.ts'
import { AuthError } from '../../target/errors.ts'
import { TokenBatchWriter } from '../../target/services/batch-writer.ts'
import { MemoryStore } from '../../target/stores/memory.ts'
import { ControlledStore, claimsOf, closeAllApps, closeApp, expectErrorShape, getOtt, getToken, makeApp, postToken, validate, waitFor } from './helpers.ts'

afterEach(closeAllApps)

const NEVER_FLUSH = { BATCH_SIZE: '10000', BATCH_FLUSH_INTERVAL_MS: '600000' }
const FAST_RETRY = { BATCH_RETRY_BASE_MS: '1', BATCH_RETRY_MAX_MS: '5' }

describe('a token is valid before its batch is flushed', () => {
  it.each(['phase1', 'phase2', 'phase3'])('%s: issue → validate 200 while the token is still pending', async (preset) => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: preset, ...NEVER_FLUSH }, { store })
    const jwt = await getToken(app)
    const ott = await getOtt(app)
    expect(app.auth.writer?.pending).toBe(2)
    expect(await store.findToken(claimsOf(jwt).token_id)).toBeNull()
    expect((await validate(app, jwt)).statusCode).toBe(200)
    expect((await validate(app, ott)).statusCode).toBe(200)
    expect((await validate(app, ott)).statusCode).toBe(401)
    expect(app.auth.writer?.pending).toBe(2)
    expect(store.insertCalls).toBe(0)
  })

  it('the baseline (no batch writer) inserts on the request path', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'baseline' }, { store })
    expect(app.auth.writer).toBeNull()
    const jwt = await getToken(app)
    expect(store.inserted.has(claimsOf(jwt).token_id)).toBe(true)
  })

  it('a full batch is flushed at once, a partial one on the interval', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '5', BATCH_FLUSH_INTERVAL_MS: '600000' }, { store })
    for (let i = 0; i < 7; i++) await getToken(app)
    expect(await waitFor(() => store.inserted.size === 5)).toBe(true)
    expect(app.auth.writer?.pending).toBe(2)
    const other = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '100', BATCH_FLUSH_INTERVAL_MS: '20' }, { store: new ControlledStore() })
    await getToken(other)
    expect(await waitFor(() => other.auth.writer?.pending === 0, 2_000)).toBe(true)
    expect(other.auth.writer?.stats().flushes).toBe(1)
  })
})

describe('a failing store flush is retried and loses nothing', () => {
  it('fails 4 times, then every issued token id is in the store', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '5', BATCH_FLUSH_INTERVAL_MS: '10', ...FAST_RETRY }, { store })
    store.insertFailures = 4
    const ids: string[] = []
    for (let i = 0; i < 23; i++) ids.push(claimsOf(await getToken(app)).token_id)
    expect(await waitFor(() => app.auth.writer?.pending === 0)).toBe(true)
    const stats = app.auth.writer!.stats()
    expect(stats.flushFailures).toBe(4)
    expect(stats.tokensFlushed).toBe(23)
    expect(stats.consecutiveFailures).toBe(0)
    expect(stats.lastError).toBe('simulated insert failure')
    for (const id of ids) expect(await store.findToken(id), id).not.toBeNull()
    expect(await store.countTokens()).toBe(23)
  })

  it('keeps retrying while the store is down, serves meanwhile, and persists all once it is back', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '3', BATCH_FLUSH_INTERVAL_MS: '10', ...FAST_RETRY }, { store })
    store.insertFailures = Number.POSITIVE_INFINITY
    const jwts: string[] = []
    for (let i = 0; i < 10; i++) jwts.push(await getToken(app))
    expect(await waitFor(() => (app.auth.writer?.stats().flushFailures ?? 0) >= 5)).toBe(true)
    expect(app.auth.writer?.pending).toBe(10)
    // tokens stay valid while their rows cannot be written
    for (const jwt of jwts) expect((await validate(app, jwt)).statusCode).toBe(200)
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toMatch(/^authbench_batch_flush_failures_total [1-9]/m)
    store.insertFailures = 0
    expect(await waitFor(() => app.auth.writer?.pending === 0)).toBe(true)
    for (const jwt of jwts) expect(store.inserted.has(claimsOf(jwt).token_id)).toBe(true)
    expect(await store.countTokens()).toBe(10)
  })

  it('unit: a batch is removed only once its insert succeeded, and tokens added meanwhile are kept', async () => {
    let fail = 2
    const written: string[] = []
    const store = new MemoryStore()
    const flaky = Object.assign(Object.create(store) as MemoryStore, {
      async insertTokens(records: readonly TokenRecord[]) {
        await new Promise((r) => setTimeout(r, 2))
        if (fail-- > 0) throw new Error('down')
        written.push(...records.map((r) => r.tokenId))
      }
    })
    const w = new TokenBatchWriter(flaky, { batchSize: 4, flushIntervalMs: 600_000, maxPending: 1_000, retryBaseMs: 1, retryMaxMs: 2 })
    const rec = (i: number): TokenRecord => ({
      tokenId: `t${i}`,
      tokenHash: 'h',
      tokenType: 'N',
      clientId: 'c',
      scopes: [],
      issuedAtMs: 0,
      expiresAtMs: 1,
      revokedAtMs: null,
      usedAtMs: null
    })
    for (let i = 0; i < 4; i++) w.add(rec(i))
    for (let i = 4; i < 9; i++) w.add(rec(i))
    await w.flush()
    expect(written.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `t${i}`).sort())
    expect(new Set(written).size).toBe(9)
    expect(w.pending).toBe(0)
    await w.close()
  })
})

describe('the pending bound pushes back', () => {
  it('503 with Retry-After once BATCH_MAX_PENDING tokens wait on a store that never answers', async () => {
    const store = new ControlledStore()
    store.stallInserts = true
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '2', BATCH_MAX_PENDING: '4', BATCH_FLUSH_INTERVAL_MS: '1000' }, { store })
    for (let i = 0; i < 4; i++) expect((await postToken(app)).statusCode).toBe(200)
    for (const path of ['token', 'ott'] as const) {
      const res = await postToken(app, {}, path)
      expectErrorShape(res, 503, 'temporarily_unavailable')
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1)
    }
    expect(app.auth.writer?.pending).toBe(4)
    expect(app.auth.writer?.stats().rejected).toBe(2)
    // it recovers once the store does
    store.releaseInserts()
    expect(await waitFor(() => app.auth.writer?.pending === 0)).toBe(true)
    expect((await postToken(app)).statusCode).toBe(200)
    await closeApp(app)
    expect(store.inserted.size).toBe(5)
  })

  it('503 when the store keeps failing', async () => {
    const store = new ControlledStore()
    store.insertFailures = Number.POSITIVE_INFINITY
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '2', BATCH_MAX_PENDING: '3', BATCH_FLUSH_INTERVAL_MS: '10', ...FAST_RETRY }, { store })
    const codes: number[] = []
    for (let i = 0; i < 6; i++) codes.push((await postToken(app)).statusCode)
    expect(codes).toEqual([200, 200, 200, 503, 503, 503])
    store.insertFailures = 0
  })

  it('unit: add() throws the 503 AuthError and counts it', () => {
    const w = new TokenBatchWriter(new MemoryStore(), { batchSize: 100, flushIntervalMs: 5_000, maxPending: 1, retryBaseMs: 1, retryMaxMs: 2 })
    const rec: TokenRecord = { tokenId: 'a', tokenHash: 'h', tokenType: 'N', clientId: 'c', scopes: [], issuedAtMs: 0, expiresAtMs: 1, revokedAtMs: null, usedAtMs: null }
    w.add(rec)
    let err: unknown
    try {
      w.add({ ...rec, tokenId: 'b' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).statusCode).toBe(503)
    expect((err as AuthError).retryAfterS).toBe(5)
    expect(w.stats().rejected).toBe(1)
  })
})
