// POST …/debug/tokens: the seeding route the harness fills its token pools with. Same credentials,
// checks, claims and persistence as /token, a bounded count, no API hooks, backpressure kept.
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_SEED_BATCH } from '../../target/routes/oauth.ts'
import { BASE, CLIENT, ControlledStore, closeAllApps, closeApp, expectErrorShape, makeApp, waitFor } from './helpers.ts'

afterEach(closeAllApps)

const seed = (app: Awaited<ReturnType<typeof makeApp>>, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `${BASE}/debug/tokens`, payload: { grant_type: 'client_credentials', ...CLIENT, ...body } })

const validate = (app: Awaited<ReturnType<typeof makeApp>>, jwt: string) =>
  app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${jwt}` }, payload: { resource: '/quotes/ltp' } })

describe('POST /debug/tokens', () => {
  it('issues the asked number of distinct access tokens, each valid on the success path and revocable', async () => {
    const app = await makeApp()
    const res = await seed(app, { count: 50 })
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as { access_tokens: string[]; token_type: string; expires_in: number }
    expect(body.access_tokens).toHaveLength(50)
    expect(new Set(body.access_tokens).size).toBe(50)
    expect(body.token_type).toBe('Bearer')
    expect(body.expires_in).toBeGreaterThan(0)
    for (const jwt of body.access_tokens.slice(0, 5)) expect((await validate(app, jwt)).statusCode).toBe(200)
    const [first] = body.access_tokens
    const revoked = await app.inject({ method: 'POST', url: `${BASE}/revoke`, headers: { authorization: `Bearer ${first}` } })
    expect(revoked.statusCode).toBe(200)
    expect((await validate(app, first as string)).statusCode).toBe(401)
  })

  it('issues one-time tokens when asked: the first validate consumes each', async () => {
    const app = await makeApp()
    const res = await seed(app, { count: 3, token_type: 'ott' })
    expect(res.statusCode, res.body).toBe(200)
    const [ott] = (res.json() as { access_tokens: string[] }).access_tokens
    expect((await validate(app, ott as string)).statusCode).toBe(200)
    const again = await validate(app, ott as string)
    expect(again.statusCode).toBe(401)
  })

  it('refuses bad credentials and bad counts with the error shape', async () => {
    const app = await makeApp()
    const wrong = await seed(app, { client_secret: 'nope', count: 5 })
    expect(wrong.statusCode).toBe(401)
    expectErrorShape(wrong)
    for (const count of [0, -1, MAX_SEED_BATCH + 1, 1.5, 'many']) {
      const res = await seed(app, { count })
      expect(res.statusCode, String(count)).toBe(400)
      expectErrorShape(res)
    }
    const missing = await app.inject({ method: 'POST', url: `${BASE}/debug/tokens`, payload: { grant_type: 'client_credentials', ...CLIENT } })
    expect(missing.statusCode).toBe(400)
    expectErrorShape(missing)
  })

  it("stops at the batch writer's pending bound and returns what it issued; then answers 503; nothing is lost", async () => {
    const store = new ControlledStore()
    store.stallInserts = true
    const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '2', BATCH_MAX_PENDING: '4', BATCH_FLUSH_INTERVAL_MS: '1000' }, { store })
    const res = await seed(app, { count: 50 })
    expect(res.statusCode, res.body).toBe(200)
    const tokens = (res.json() as { access_tokens: string[] }).access_tokens
    expect(tokens).toHaveLength(4)
    const full = await seed(app, { count: 5 })
    expectErrorShape(full, 503, 'temporarily_unavailable')
    expect(app.auth.writer?.pending).toBe(4)
    // every returned token is live before its row lands, and lands once the store answers
    expect((await validate(app, tokens[0] as string)).statusCode).toBe(200)
    store.releaseInserts()
    expect(await waitFor(() => app.auth.writer?.pending === 0)).toBe(true)
    await closeApp(app)
    expect(store.inserted.size).toBe(4)
  })

  it('does not pass through the API hooks: the test-only delay knob does not slow it', async () => {
    const app = await makeApp({ INJECT_DELAY_MS: '400', INJECT_DELAY_RATIO: '1' })
    const t0 = performance.now()
    expect((await seed(app, { count: 20 })).statusCode).toBe(200)
    expect(performance.now() - t0).toBeLessThan(400)
    // …while an API request does pay it
    const t1 = performance.now()
    await app.inject({ method: 'POST', url: `${BASE}/token`, payload: { grant_type: 'client_credentials', ...CLIENT } })
    expect(performance.now() - t1).toBeGreaterThanOrEqual(390)
  })
})
