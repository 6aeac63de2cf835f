// Revoke-then-validate never passes: once POST /revoke answered, no validate started afterwards
// returns 200, with the token cache on (lru), with the revocation pool, and while validates race
// the revoke. The store below answers reads late (its snapshot predates a concurrent revoke), the
// way a database read that started before the revoking write commits does.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlledStore, claimsOf, closeAllApps, closeApp, expectErrorShape, getToken, makeApp, revoke, sleep, validate } from './helpers.ts'

afterEach(closeAllApps)

interface Variant {
  name: string
  env: Record<string, string>
}

const CACHED: Variant[] = [
  { name: 'lru cache, revocation on the request path (phase2)', env: { PRESET: 'phase2', CACHE: 'lru' } },
  { name: 'lru cache, revocation pool of 4 (phase3)', env: { PRESET: 'phase3', CACHE: 'lru', REVOCATION_WORKERS: '4' } },
  { name: 'lru cache of one entry (revocations get evicted)', env: { PRESET: 'phase2', CACHE: 'lru', CACHE_MAX_ENTRIES: '1' } },
  { name: 'lru cache of one entry, revocation pool', env: { PRESET: 'phase3', CACHE: 'lru', CACHE_MAX_ENTRIES: '1', REVOCATION_WORKERS: '4' } }
]

/**
 * Validates keep starting every `gapMs` while a revoke runs. Returns the statuses of those that
 * started after the revoke's response arrived.
 */
async function raceRevoke(app: FastifyInstance, jwt: string, opts: { gapMs: number; afterCount: number }): Promise<{ after: number[]; before: number[] }> {
  let revokedAt = Number.POSITIVE_INFINITY
  let seq = 0
  const started: Array<{ seq: number; afterRevoke: boolean; res: Promise<LightMyRequestResponse> }> = []
  const revoking = revoke(app, jwt).then((r) => {
    revokedAt = seq
    return r
  })
  let afterStarted = 0
  while (afterStarted < opts.afterCount) {
    const afterRevoke = Number.isFinite(revokedAt)
    started.push({ seq: seq++, afterRevoke, res: validate(app, jwt) })
    if (afterRevoke) afterStarted++
    await sleep(opts.gapMs)
  }
  expect((await revoking).statusCode).toBe(200)
  const all = await Promise.all(started.map(async (s) => ({ ...s, status: (await s.res).statusCode })))
  return { after: all.filter((s) => s.afterRevoke).map((s) => s.status), before: all.filter((s) => !s.afterRevoke).map((s) => s.status) }
}

/**
 * Four rounds of validates racing a revoke, on a store whose reads answer late (their snapshot
 * predates the revoke): none that started after the revoke's response may pass. With `warmCache`,
 * every other round's token is validated first, so that its race starts from a cached "not revoked".
 */
async function expectRevokeWinsRaces(env: Record<string, string>, opts: { warmCache: boolean }): Promise<void> {
  const store = new ControlledStore()
  const app = await makeApp(env, { store })
  store.findReplyDelayMs = 15
  store.revokeDelayMs = 10
  for (let round = 0; round < 4; round++) {
    const jwt = await getToken(app)
    if (opts.warmCache && round % 2 === 0) expect((await validate(app, jwt)).statusCode).toBe(200)
    const { after, before } = await raceRevoke(app, jwt, { gapMs: 2, afterCount: 15 })
    expect(before.length).toBeGreaterThan(0)
    expect(
      after.filter((c) => c !== 401),
      `round ${round}`
    ).toEqual([])
  }
}

describe.each(CACHED)('revoke then validate: $name', ({ env }) => {
  it('a validated (cached) token is refused after the revoke', async () => {
    const app = await makeApp(env)
    const jwt = await getToken(app)
    for (let i = 0; i < 3; i++) expect((await validate(app, jwt)).statusCode).toBe(200)
    if (env.CACHE_MAX_ENTRIES === undefined) expect(app.auth.cache.stats().hits).toBeGreaterThan(0)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    for (let i = 0; i < 5; i++) expectErrorShape(await validate(app, jwt), 401, 'invalid_token')
  })

  it('stays refused after the pool persisted it and other tokens pushed it out of the cache', async () => {
    const app = await makeApp(env)
    const jwt = await getToken(app)
    await validate(app, jwt)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    await app.auth.revocations?.drain()
    for (let i = 0; i < 5; i++) await validate(app, await getToken(app))
    expectErrorShape(await validate(app, jwt), 401, 'invalid_token')
    expect(await app.auth.store.findToken(claimsOf(jwt).token_id)).toMatchObject({ revokedAtMs: expect.any(Number) })
  })

  it('validates racing the revoke: none started after its response passes', async () => {
    // Half the rounds start from a warm cache entry saying "not revoked".
    await expectRevokeWinsRaces(env, { warmCache: true })
  })

  it('a revoke of a token whose batch has not been flushed yet is not undone by the later flush', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ ...env, BATCH_SIZE: '1000', BATCH_FLUSH_INTERVAL_MS: '600000' }, { store })
    const jwt = await getToken(app)
    expect(app.auth.writer?.pending).toBe(1)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    await app.auth.revocations?.drain()
    await app.auth.writer?.flush()
    expect(store.inserted.has(claimsOf(jwt).token_id)).toBe(true)
    expect(await store.findToken(claimsOf(jwt).token_id)).toMatchObject({ revokedAtMs: expect.any(Number) })
    expectErrorShape(await validate(app, jwt), 401, 'invalid_token')
    await closeApp(app)
  })
})

describe('revoke then validate without a cache', () => {
  // The same invariant holds for the presets without a cache (baseline, phase1): after the
  // revoke's response, the token never validates again. This needs TokenService.revoke to drop
  // the in-flight lookups once the store has the revocation: a lookup that started earlier would
  // otherwise answer the stale "not revoked" to the validates that joined it.
  it.each<{ name: string; env: Record<string, string> }>([
    { name: 'baseline', env: { PRESET: 'baseline' } },
    { name: 'phase1', env: { PRESET: 'phase1' } },
    { name: 'phase3 without a cache (revocation pool)', env: { PRESET: 'phase3', CACHE: 'none' } }
  ])('$name: validates racing the revoke: none started after its response passes', async ({ env }) => {
    await expectRevokeWinsRaces(env, { warmCache: false })
  })
})
