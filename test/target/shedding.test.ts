// Shedding on event-loop pressure: an API request that arrives while the loop is late is refused
// at once with 503, Retry-After and the error shape; ops routes and health never are; presets
// without shedding (baseline, phase1) have none.
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../target/config.ts'
import { BASE, closeAllApps, expectErrorShape, getToken, makeApp, postToken } from './helpers.ts'

afterEach(closeAllApps)

// The block below is this process's own work, but on a loaded machine the OS can take the core
// away in the middle of it, and the check's CPU-share guard (shedding-descheduled.test.ts) would
// then rightly decline to shed. These tests are about the delay checks, so the guard is off.
const OWN_WORK = { SHED_MIN_CPU_SHARE: '0' }

/** Keeps the event loop busy for `ms`, as a CPU-bound turn under overload does. */
function blockLoop(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* spin */ }
}

describe('shedding', () => {
  it('is on in phase2 and phase3 and off in baseline and phase1', () => {
    for (const preset of ['phase2', 'phase3']) expect(loadConfig({ PRESET: preset }).shedMaxEventLoopDelayMs).toBeGreaterThan(0)
    for (const preset of ['baseline', 'phase1']) {
      const c = loadConfig({ PRESET: preset })
      expect([c.shedMaxEventLoopDelayMs, c.shedMaxEventLoopUtilization]).toEqual([0, 0])
    }
    expect(loadConfig({ PRESET: 'phase1', SHED_MAX_EVENT_LOOP_DELAY_MS: '30' }).shedMaxEventLoopDelayMs).toBe(30)
    expect(() => loadConfig({ SHED_MAX_EVENT_LOOP_UTILIZATION: '1.5' })).toThrow(/SHED_MAX_EVENT_LOOP_UTILIZATION/)
  })

  it('a request that arrives while the loop is late gets 503 with Retry-After; health and metrics still answer', async () => {
    const app = await makeApp({ PRESET: 'phase2', SHED_MAX_EVENT_LOOP_DELAY_MS: '20', SHED_RETRY_AFTER_S: '2', ...OWN_WORK })
    const token = await getToken(app)
    // Requests injected in the same turn as the block are handled after it, while the live
    // ticker is still ~60 ms behind. A turn sheds only past its first 64 API requests (a flood,
    // not a GC pause), so 70 are sent.
    const burst = Array.from({ length: 70 }, () => postToken(app))
    const pending = [
      app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${token}` }, payload: { resource: '/quotes/ltp' } }),
      app.inject({ method: 'GET', url: `${BASE}/` }),
      app.inject({ method: 'GET', url: '/metrics' })
    ]
    blockLoop(60)
    const burstCodes = (await Promise.all(burst)).map((r) => r.statusCode)
    const [validateRes, healthRes, metricsRes] = await Promise.all(pending)
    // At most 64 per turn are admitted (fewer when the turn had started other requests already).
    const admitted = burstCodes.filter((c) => c === 200).length
    expect(admitted).toBeGreaterThanOrEqual(60)
    expect(admitted).toBeLessThanOrEqual(64)
    expect(burstCodes.filter((c) => c === 503)).toHaveLength(70 - admitted)
    const tokenRes = (await Promise.all(burst)).find((r) => r.statusCode === 503)
    for (const res of [tokenRes!, validateRes!]) {
      const body = expectErrorShape(res, 503, 'temporarily_unavailable')
      expect(body.error_description).toMatch(/overloaded/)
      expect(res.headers['retry-after']).toBe('2')
    }
    expect(healthRes!.statusCode).toBe(200)
    expect(metricsRes!.statusCode).toBe(200)
    const shed = 70 - admitted + 1
    expect(app.auth.shedding?.stats().shed).toBe(shed)
    // Once the loop is on time again, the same requests are admitted.
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect((await postToken(app)).statusCode).toBe(200)
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toMatch(new RegExp(`^authbench_shed_total ${shed}$`, 'm'))
  })

  it('pressure that lasts over many short turns is shed by the sampled check, not the live one', async () => {
    const app = await makeApp({ PRESET: 'phase2', SHED_MAX_EVENT_LOOP_DELAY_MS: '20', ...OWN_WORK })
    await new Promise((resolve) => setTimeout(resolve, 300))
    // Long turns one after another with a request between them: fewer than 64 requests a turn, so
    // the live check never fires, and every sample's mean delay is past the limit.
    const codes: number[] = []
    const startedMs = performance.now()
    while (performance.now() - startedMs < 800) {
      blockLoop(60)
      codes.push((await postToken(app)).statusCode)
    }
    const stats = app.auth.shedding?.stats()
    expect(codes.filter((c) => c === 503).length).toBeGreaterThan(0)
    expect(stats?.byCause.eventLoopDelay ?? 0).toBeGreaterThan(0)
    expect(stats?.byCause.liveEventLoopDelay ?? 0).toBe(0)
  })

  it('phase1 never sheds, however late the loop', async () => {
    const app = await makeApp({ PRESET: 'phase1' })
    expect(app.auth.shedding).toBeNull()
    const pending = Array.from({ length: 70 }, () => postToken(app))
    blockLoop(60)
    expect((await Promise.all(pending)).every((r) => r.statusCode === 200)).toBe(true)
  })
})
