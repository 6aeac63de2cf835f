// A one-time token is consumed by exactly one of 200 concurrent validates, whoever decides:
// the store (baseline, phase2) or this process in memory (phase3's revocation pool).
import { afterEach, describe, expect, it } from 'vitest'
import type { Store } from '../../target/domain.ts'
import { MemoryStore } from '../../target/stores/memory.ts'
import { ControlledStore, claimsOf, closeAllApps, closeApp, expectErrorShape, getOtt, makeApp, validate } from './helpers.ts'

afterEach(closeAllApps)

const N = 200

const VARIANTS: Array<{ name: string; env: Record<string, string>; store?: () => Store }> = [
  { name: 'phase2 (store decides, lru cache)', env: { PRESET: 'phase2' } },
  { name: 'phase3 (revocation pool, decided in memory)', env: { PRESET: 'phase3' } },
  { name: 'baseline (store decides, no cache, sync insert)', env: { PRESET: 'baseline' } },
  { name: 'phase2 with a store that takes 1 ms per operation', env: { PRESET: 'phase2' }, store: () => new MemoryStore({ latencyMs: 1 }) },
  { name: 'phase3 with a store that takes 1 ms per operation', env: { PRESET: 'phase3' }, store: () => new MemoryStore({ latencyMs: 1 }) }
]

describe.each(VARIANTS)('OTT exactly once: $name', ({ env, store }) => {
  it(`${N} concurrent validates of one OTT give exactly one 200`, async () => {
    const s = store?.() ?? new ControlledStore()
    const app = await makeApp(env, { store: s })
    expect(app.auth.config.preset).toBe(env.PRESET)
    for (let round = 0; round < 2; round++) {
      const ott = await getOtt(app)
      const results = await Promise.all(Array.from({ length: N }, () => validate(app, ott)))
      const statuses = results.map((r) => r.statusCode)
      expect(statuses.filter((c) => c === 200)).toHaveLength(1)
      expect(statuses.filter((c) => c === 401)).toHaveLength(N - 1)
      for (const r of results) if (r.statusCode === 401) expectErrorShape(r, 401, 'invalid_token')
      // and later attempts fail as well
      expect((await validate(app, ott)).statusCode).toBe(401)
    }
  })

  it('distinct OTTs validated concurrently each succeed once', async () => {
    const app = await makeApp(env, { store: store?.() ?? new ControlledStore() })
    const otts = await Promise.all(Array.from({ length: 20 }, () => getOtt(app)))
    const results = await Promise.all(otts.flatMap((o) => Array.from({ length: 10 }, () => validate(app, o).then((r) => [o, r.statusCode] as const))))
    for (const o of otts) {
      const codes = results.filter(([t]) => t === o).map(([, c]) => c)
      expect(codes.filter((c) => c === 200)).toHaveLength(1)
    }
  })

  it('the consumption is persisted (and survives shutdown)', async () => {
    const s = new ControlledStore()
    const app = await makeApp(env, { store: s })
    const ott = await getOtt(app)
    await Promise.all(Array.from({ length: 50 }, () => validate(app, ott)))
    await closeApp(app)
    expect(s.used.has(claimsOf(ott).token_id)).toBe(true)
  })
})
