// A duet trial's timeline has one row per second of its measured time, as a single run's does, so
// that "throughput over time" read from it is the trial's throughput: one row for the whole window
// read as one second's requests was the trial's length times too high.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import type { DriverOutcome } from '../../harness/engine/drivers/types.ts'
import { DUET, Engine, mergeSlotOutcomes } from '../../harness/engine/engine.ts'
import type { ScenarioPlan, StartTarget } from '../../harness/engine/engine.ts'
import { createHistogram, encodeHistogram } from '../../harness/stats/recorder.ts'
import type { TimelineRow, TrialResult } from '../../harness/types.ts'
import { testEnginePlan } from './helpers/engine-plan.ts'
import { okScenario } from './helpers/ok-scenario.ts'
import { fastServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

/** A driver's outcome over `rows` (one per second, as the meter writes them). */
function measured(rows: ReadonlyArray<[requests: number, p99Us: number]>, durationMs: number): DriverOutcome {
  const h = createHistogram()
  const timeline: TimelineRow[] = rows.map(([requests, p99Us], second) => {
    for (let i = 0; i < requests; i++) h.recordValue(p99Us)
    return { second, requests, errors: 0, p50Us: p99Us, p99Us }
  })
  const requests = timeline.reduce((n, r) => n + r.requests, 0)
  const histogram = encodeHistogram(h)
  h.destroy()
  return {
    durationMs,
    requests,
    successes: requests,
    errors: 0,
    bytesRead: 0,
    histogram,
    statusCounts: { 200: requests },
    errorsByKind: { byStatus: {}, timeouts: 0, resets: 0, other: 0 },
    timeline,
    aborted: false
  }
}

/** Requests per second over the rows: each row covers a second, the last one what remains. */
function rowsRps(timeline: readonly TimelineRow[], durationMs: number): number[] {
  return timeline.map((r, i) => r.requests / (i === timeline.length - 1 ? (durationMs - 1000 * i) / 1000 : 1))
}

describe("a duet arm's merged timeline", () => {
  it("keeps the driver's per-second rows of a slot that covers the whole window", () => {
    const merged = mergeSlotOutcomes([
      measured(
        [
          [3_700, 900],
          [3_800, 800],
          [3_750, 850],
          [3_763, 700]
        ],
        4_000
      )
    ])
    expect(merged.timeline.map((r) => [r.second, r.requests, r.p99Us])).toEqual([
      [0, 3_700, 900],
      [1, 3_800, 800],
      [2, 3_750, 850],
      [3, 3_763, 700]
    ])
    expect(merged.timeline.reduce((n, r) => n + r.requests, 0)).toBe(merged.requests)
  })

  it('moves the rows of long slots to where each slot started in the arm’s own time', () => {
    const merged = mergeSlotOutcomes([
      measured(
        [
          [10, 100],
          [20, 200]
        ],
        2_000
      ),
      measured(
        [
          [30, 300],
          [40, 400]
        ],
        2_000
      )
    ])
    expect(merged.timeline.map((r) => [r.second, r.requests])).toEqual([
      [0, 10],
      [1, 20],
      [2, 30],
      [3, 40]
    ])
  })
})

describe('a duet trial, measured', () => {
  const servers: TestServer[] = []
  beforeAll(async () => {
    servers.push(await fastServer(), await fastServer())
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const target =
    (server: TestServer): StartTarget =>
    async () => ({ url: server.url, pid: null, cpuPinning: { target: null, generator: null }, exited: new Promise<Error>(() => undefined), stop: async () => undefined })

  it('has one timeline row per second, summing to its requests, at its throughput', async () => {
    const durationMs = 3_000
    const sp: ScenarioPlan = {
      scenario: okScenario(),
      params: {},
      load: { model: 'closed', durationMs, warmupMs: 200, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2_000 }
    }
    const engine = new Engine(testEnginePlan('duet-timeline', []), {
      target: { url: 'http://127.0.0.1:1' },
      createDriver: () => createClosedDriver(),
      metrics: null,
      fetchTargetConfig: async () => null
    })
    const pair = await engine.runPair({ A: target(servers[0] as TestServer), B: target(servers[1] as TestServer) }, sp, { A: 0, B: 1 }, 'A', DUET)
    expect(pair.aborted).toBeNull()
    for (const arm of ['A', 'B'] as const) {
      const t = pair.trials[arm] as TrialResult
      expect(t.validity).toEqual({ state: 'valid' })
      // One row per second measured; the meter may close a last row of a few milliseconds.
      expect(t.timeline.length).toBeGreaterThanOrEqual(Math.floor(t.durationMs / 1000))
      expect(t.timeline.length).toBeLessThanOrEqual(Math.ceil(t.durationMs / 1000) + 1)
      expect(t.timeline.map((r) => r.second)).toEqual(t.timeline.map((_, i) => i))
      expect(t.timeline.reduce((n, r) => n + r.requests, 0)).toBe(t.requests)
      // Read as req/s, the rows give the trial's throughput (within 1%), not a multiple of it.
      const rps = rowsRps(t.timeline, t.durationMs)
      const meanRps = rps.reduce((a, r, i) => a + r * (i === rps.length - 1 ? (t.durationMs - 1000 * i) / 1000 : 1), 0) / (t.durationMs / 1000)
      expect(Math.abs(meanRps - t.throughputRps) / t.throughputRps).toBeLessThan(0.01)
      // No full second reads as more than the whole trial's requests over two seconds.
      for (const r of rps.slice(0, -1)) expect(r).toBeLessThan((t.requests / t.durationMs) * 1000 * 2)
    }
  }, 30_000)
})
