import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import type { RequestSpec } from '../../harness/engine/drivers/types.ts'
import { summarizeEncoded } from '../../harness/stats/recorder.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { fastServer, holdingServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

const load = (overrides: Partial<LoadSettings> = {}): LoadSettings => ({
  model: 'open',
  durationMs: 1000,
  warmupMs: 200,
  connections: 8,
  pipelining: 1,
  rateRps: 300,
  maxRequests: null,
  timeoutMs: 5000,
  ...overrides
})
const ok: RequestSpec = { method: 'GET', path: '/ok', expectedStatuses: [200] }

let server: TestServer
beforeAll(async () => {
  server = await fastServer()
})
afterAll(async () => {
  await server.close()
})

describe('OpenDriver', () => {
  it('sends on schedule: the measured window holds rate × duration requests, warm-up excluded', async () => {
    // A deadline and a backlog no stall of a shared machine reaches: every scheduled send goes out.
    const driver = new OpenDriver({ startDeadlineMs: 5000, maxInFlight: 400 })
    const events: string[] = []
    for (const name of ['warmup', 'start', 'tick', 'done']) driver.on(name, () => events.push(name))
    server.requests = 0
    const outcome = await driver.run({ url: server.url, load: load(), nextRequest: () => ok })
    expect(server.requests).toBe(360)
    expect(outcome.requests).toBe(300)
    expect(outcome.successes).toBe(300)
    expect(outcome.statusCounts).toEqual({ 200: 300 })
    expect(summarizeEncoded(outcome.histogram).count).toBe(300)
    expect(outcome.openModel).toMatchObject({ targetRps: 300, scheduled: 300, sent: 300 })
    // Sends and completions count when they happen inside the window: a loaded machine pushes a
    // few of the last sends past its end, never more than were scheduled.
    expect(outcome.openModel?.achievedRps).toBeGreaterThan(300 * 0.85)
    expect(outcome.openModel?.achievedRps).toBeLessThanOrEqual(300.5)
    expect(outcome.openModel?.completedRps).toBeGreaterThan(300 * 0.8)
    expect(outcome.openModel?.completedRps).toBeLessThanOrEqual(outcome.openModel?.achievedRps ?? 0)
    // How late an idle generator is depends on the machine; the test below makes it late on purpose.
    expect(outcome.openModel?.lateShare).toBe((outcome.openModel?.lateSends ?? 0) / 300)
    expect(outcome.openModel).toMatchObject({ dropped: 0, maxInFlight: 400 })
    expect(outcome.timeline.reduce((sum, row) => sum + row.requests, 0)).toBe(300)
    expect(events[0]).toBe('warmup')
    expect(events).toContain('start')
    expect(events.at(-1)).toBe('done')
  })

  it('judges statuses per request and sends per-request bodies', async () => {
    server.bodies.length = 0
    let n = 0
    const nextRequest = (): RequestSpec => {
      n++
      if (n % 4 === 0) return { method: 'GET', path: '/fail', expectedStatuses: [200] }
      return { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }), expectedStatuses: [201] }
    }
    const outcome = await new OpenDriver({ startDeadlineMs: 5000, maxInFlight: 400 }).run({ url: server.url, load: load({ warmupMs: 0, rateRps: 400 }), nextRequest })
    expect(outcome.requests).toBe(400)
    expect(outcome.errors).toBe(100)
    expect(outcome.errorsByKind.byStatus).toEqual({ 500: 100 })
    expect(outcome.statusCounts).toEqual({ 201: 300, 500: 100 })
    const seen = server.bodies.map((body) => (JSON.parse(body) as { n: number }).n)
    expect(new Set(seen).size).toBe(300)
  })

  it("hands a spec that reads its response the status, headers and whole body; one that throws is that request's failure", async () => {
    let n = 0
    const bodies: string[] = []
    const nextRequest = (): RequestSpec => {
      n++
      const body = JSON.stringify({ n, pad: 'x'.repeat(n % 3 === 0 ? 70_000 : 10) })
      return {
        method: 'POST',
        path: '/echo',
        headers: { 'content-type': 'application/json' },
        body,
        expectedStatuses: [201],
        onResponse: (status, headers, received) => {
          if (status !== 201 || headers['content-type'] !== 'text/plain') throw new Error(`status ${status}, ${String(headers['content-type'])}`)
          const echoed = received.toString('utf8')
          if ((JSON.parse(echoed) as { n: number }).n % 5 === 0) throw new Error('a scenario check failed')
          bodies.push(echoed)
        }
      }
    }
    const outcome = await new OpenDriver({ startDeadlineMs: 5000, maxInFlight: 400 }).run({ url: server.url, load: load({ warmupMs: 0, rateRps: 200 }), nextRequest })
    expect(outcome.requests).toBe(200)
    // Bodies of 70 kB arrive in several chunks: each handed over whole.
    expect(bodies).toHaveLength(160)
    expect(bodies.every((b) => (JSON.parse(b) as { pad: string }).pad.length > 0)).toBe(true)
    expect(outcome.errors).toBe(40)
    // Only answered requests count their bytes: 53 of the 70 kB echoes (n divisible by 3, not by 5).
    expect(outcome.bytesRead).toBeGreaterThan(53 * 70_000)
  })

  it('drops a send that cannot start by its deadline, counted and never sent, instead of queueing it to time out', async () => {
    server.requests = 0
    const outcome = await new OpenDriver().run({
      url: server.url,
      load: load({ warmupMs: 0, durationMs: 500, rateRps: 100, connections: 1, maxInFlight: 1, timeoutMs: 1000 }),
      nextRequest: () => ({ method: 'GET', path: '/hang', expectedStatuses: [200] })
    })
    // One slot, hung: the first request holds it until its timeout; the 49 due meanwhile wait at
    // most 20 ms (two intervals) for it and are dropped. Only the one sent can time out.
    expect(server.requests).toBe(1)
    expect(outcome.successes).toBe(0)
    expect(outcome.openModel).toMatchObject({ scheduled: 50, sent: 1, dropped: 49, maxInFlight: 1, peakInFlight: 1, limitedBy: 'server' })
    expect(outcome.errorsByKind.timeouts).toBe(1)
    expect(outcome.requests).toBe(1)
  })

  it('counts its own lateness: a blocked event loop makes sends late, shows as lag, and the trial as client-limited', async () => {
    const driver = new OpenDriver()
    // Block the generator's loop twice for 150 ms while it should be sending 300 req/s.
    const block = (): void => {
      const end = performance.now() + 150
      while (performance.now() < end) {
        /* spin */
      }
    }
    driver.once('start', () => {
      setTimeout(block, 200)
      setTimeout(block, 600)
    })
    const outcome = await driver.run({ url: server.url, load: load({ warmupMs: 0 }), nextRequest: () => ok })
    // ~45 sends are due in each block; every one goes out late.
    expect(outcome.openModel?.lateSends).toBeGreaterThanOrEqual(80)
    expect(outcome.openModel?.eventLoopLagP99Ms).toBeGreaterThan(50)
    expect(outcome.openModel?.limitedBy).toBe('client')
  })

  it('stops within a second when its signal aborts', async () => {
    const controller = new AbortController()
    const started = performance.now()
    setTimeout(() => controller.abort(), 500)
    const outcome = await new OpenDriver().run({ url: server.url, load: load({ durationMs: 30_000 }), nextRequest: () => ok, signal: controller.signal })
    expect(performance.now() - started).toBeLessThan(1500)
    expect(outcome.aborted).toBe(true)
    expect(outcome.requests).toBeGreaterThan(0)
  })

  it('refuses to run without a rate', async () => {
    await expect(new OpenDriver().run({ url: server.url, load: load({ rateRps: null }), nextRequest: () => ok })).rejects.toMatchObject({ code: 'AUTHBENCH_ERR_BAD_OPTION' })
  })
})

describe('OpenDriver backlog', () => {
  it('measures a backlogged request from its intended time, so the wait shows', async () => {
    const slow = await holdingServer(1000)
    try {
      // Every response is held to the end of the server's first second; with 4 slots (and a
      // backlog of 4) and a deadline long enough, the 4 requests due after the slots filled wait in
      // the backlog and their latency counts that wait: the last one, due at 350 ms, is answered
      // after 1 s, so even it shows more than 500 ms.
      const outcome = await new OpenDriver({ startDeadlineMs: 2000 }).run({
        url: slow.url,
        load: load({ warmupMs: 0, durationMs: 400, rateRps: 20, connections: 4, maxInFlight: 4, timeoutMs: 3000 }),
        nextRequest: () => ok
      })
      expect(outcome.successes).toBe(8)
      expect(outcome.openModel?.dropped).toBe(0)
      expect(summarizeEncoded(outcome.histogram).min).toBeGreaterThan(500_000)
    } finally {
      await slow.close()
    }
  })

  it('keeps the backlog bounded by the in-flight limit', async () => {
    const slow = await holdingServer(1000)
    try {
      // 2 in flight, a deadline that never expires here: at most 2 wait, the other sends are dropped.
      const outcome = await new OpenDriver({ startDeadlineMs: 5000 }).run({
        url: slow.url,
        load: load({ warmupMs: 0, durationMs: 500, rateRps: 20, connections: 2, maxInFlight: 2, timeoutMs: 3000 }),
        nextRequest: () => ok
      })
      expect(outcome.openModel).toMatchObject({ scheduled: 10, sent: 4, dropped: 6, peakInFlight: 2 })
      expect(outcome.successes).toBe(4)
    } finally {
      await slow.close()
    }
  })
})

describe('defaultMaxInFlight', () => {
  it('is rate × 100 ms, at least the pool size and at most 4,096', async () => {
    const { defaultMaxInFlight } = await import('../../harness/engine/saturation.ts')
    expect(defaultMaxInFlight(300, 8)).toBe(30)
    expect(defaultMaxInFlight(200, 64)).toBe(64)
    expect(defaultMaxInFlight(15_000, 64)).toBe(1_500)
    expect(defaultMaxInFlight(1_000_000, 64)).toBe(4_096)
  })
})
