// Slot-interleaved A/B pairs (Engine.runPair): each arm's slots merge into one exact trial, the
// measured time really alternates between the two targets, and a target that dies mid-pair ends
// the pair quickly with what was measured.
import { afterEach, describe, expect, it } from 'vitest'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import type { DriverOutcome } from '../../harness/engine/drivers/types.ts'
import { DUET, Engine, mergeSlotOutcomes } from '../../harness/engine/engine.ts'
import type { EngineDeps, EnginePlan, ScenarioPlan, StartTarget, TargetHandle } from '../../harness/engine/engine.ts'
import { createHistogram, encodeHistogram, summarizeEncoded } from '../../harness/stats/recorder.ts'
import { testEnginePlan } from './helpers/engine-plan.ts'
import { okScenario } from './helpers/ok-scenario.ts'
import { fastServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

function outcome(latenciesUs: number[], durationMs: number, errors = 0): DriverOutcome {
  const h = createHistogram()
  for (const v of latenciesUs) h.recordValue(v)
  const histogram = encodeHistogram(h)
  h.destroy()
  return {
    durationMs,
    requests: latenciesUs.length,
    successes: latenciesUs.length - errors,
    errors,
    bytesRead: latenciesUs.length * 10,
    histogram,
    statusCounts: { 200: latenciesUs.length - errors, ...(errors > 0 ? { 500: errors } : {}) },
    errorsByKind: { byStatus: errors > 0 ? { 500: errors } : {}, timeouts: 0, resets: 1, other: 0 },
    timeline: [],
    aborted: false
  }
}

describe('mergeSlotOutcomes', () => {
  it("sums counts, adds histograms exactly and rebuilds one timeline row per second of the arm's own time", () => {
    const slots = [outcome([100, 200, 300], 500), outcome([400, 500], 500, 1), outcome([1_000, 2_000, 3_000, 4_000], 500), outcome([50], 500)]
    const merged = mergeSlotOutcomes(slots)
    expect(merged.durationMs).toBe(2_000)
    expect(merged.requests).toBe(10)
    expect(merged.errors).toBe(1)
    expect(merged.successes).toBe(9)
    expect(merged.bytesRead).toBe(100)
    expect(merged.statusCounts).toEqual({ 200: 9, 500: 1 })
    expect(merged.errorsByKind).toEqual({ byStatus: { 500: 1 }, timeouts: 0, resets: 4, other: 0 })
    // The merged percentiles are those of all ten values, not an average of the slots' percentiles.
    const all = outcome([100, 200, 300, 400, 500, 1_000, 2_000, 3_000, 4_000, 50], 2_000)
    expect(summarizeEncoded(merged.histogram)).toEqual(summarizeEncoded(all.histogram))
    expect(merged.timeline.map((r) => [r.second, r.requests, r.errors])).toEqual([
      [0, 5, 1],
      [1, 5, 0]
    ])
    expect(merged.timeline[0]?.p99Us).toBe(summarizeEncoded(outcome([100, 200, 300, 400, 500], 1).histogram).p99)
    expect(merged.aborted).toBe(false)
    expect(mergeSlotOutcomes([outcome([1], 10), { ...outcome([2], 10), aborted: true }]).aborted).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------

const servers: TestServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const sp = (durationMs: number): ScenarioPlan => ({
  scenario: okScenario(),
  params: {},
  load: { model: 'closed', durationMs, warmupMs: 200, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2_000 }
})

const plan: EnginePlan = testEnginePlan('paired-test', [])

const deps = (): EngineDeps => ({ target: { url: 'http://127.0.0.1:1' }, createDriver: () => createClosedDriver(), metrics: null, fetchTargetConfig: async () => null })

/** A "target" that is a test server; counts its starts and stops, and can be made to crash. */
function fakeTarget(server: TestServer): { start: StartTarget; stops: number; crash: (err: Error) => void } {
  let crash: (err: Error) => void = () => undefined
  const state = {
    stops: 0,
    crash: (err: Error) => crash(err),
    start: async (): Promise<TargetHandle> => ({
      url: server.url,
      pid: null,
      cpuPinning: { target: null, generator: null },
      exited: new Promise<Error>((resolve) => {
        crash = resolve
      }),
      stop: async () => {
        state.stops++
      }
    })
  }
  return state
}

describe('Engine.runPair', () => {
  it('alternates the measured time between both targets in slots and merges each arm into one valid trial', async () => {
    const a = await fastServer()
    const b = await fastServer()
    servers.push(a, b)
    const ta = fakeTarget(a)
    const tb = fakeTarget(b)
    // Sample each server's request count every 50 ms while the pair runs: with 250 ms slots both
    // must be idle at times and busy at others, in turn.
    const samples: Array<[number, number]> = []
    const timer = setInterval(() => samples.push([a.requests, b.requests]), 50)
    const pair = await new Engine(plan, deps()).runPair({ A: ta.start, B: tb.start }, sp(1_000), { A: 0, B: 1 }, 'B', 250)
    clearInterval(timer)

    expect(pair.aborted).toBeNull()
    const A = pair.trials.A
    const B = pair.trials.B
    expect(A?.validity).toEqual({ state: 'valid' })
    expect(B?.validity).toEqual({ state: 'valid' })
    expect(A?.trial).toBe(0)
    expect(B?.trial).toBe(1)
    // Four 250 ms slots per arm: about a second of measured time each.
    expect(A?.durationMs).toBeGreaterThan(900)
    expect(A?.durationMs).toBeLessThan(1_400)
    expect(B?.durationMs).toBeGreaterThan(900)
    expect(A?.latencyUs.count).toBe(A?.requests)
    expect(A?.timeline.reduce((n, r) => n + r.requests, 0)).toBe(A?.requests)
    // Each server got its arm's requests (plus its own warm-up), never the other's.
    expect(a.requests).toBeGreaterThanOrEqual(A?.requests ?? Infinity)
    expect(b.requests).toBeGreaterThanOrEqual(B?.requests ?? Infinity)
    // Turns: count the switches of which server was receiving load between samples.
    let turns = 0
    let last: 'a' | 'b' | null = null
    for (let i = 1; i < samples.length; i++) {
      const da = (samples[i]?.[0] ?? 0) - (samples[i - 1]?.[0] ?? 0)
      const db = (samples[i]?.[1] ?? 0) - (samples[i - 1]?.[1] ?? 0)
      const busy = da > 0 && db === 0 ? 'a' : db > 0 && da === 0 ? 'b' : null
      if (busy !== null && busy !== last) {
        if (last !== null) turns++
        last = busy
      }
    }
    expect(turns).toBeGreaterThanOrEqual(4)
    // Both targets stopped at the end.
    expect(ta.stops).toBe(1)
    expect(tb.stops).toBe(1)
  })

  it('duet: both targets under load at the same moments for the whole measured time', async () => {
    const a = await fastServer()
    const b = await fastServer()
    servers.push(a, b)
    const samples: Array<[number, number, number]> = []
    const timer = setInterval(() => samples.push([Date.now(), a.requests, b.requests]), 50)
    const pair = await new Engine(plan, deps()).runPair({ A: fakeTarget(a).start, B: fakeTarget(b).start }, sp(1_000), { A: 0, B: 1 }, 'A', DUET)
    clearInterval(timer)
    expect(pair.trials.A?.validity).toEqual({ state: 'valid' })
    expect(pair.trials.B?.validity).toEqual({ state: 'valid' })
    expect(pair.trials.A?.durationMs).toBeGreaterThan(900)
    // Each arm warms up alone first; within the measured window, count the 50 ms samples in which
    // both servers received requests and those in which only one did: in a duet nearly every busy
    // sample has both.
    const fromMs = Date.parse(pair.trials.A?.startedAt ?? '')
    const toMs = fromMs + (pair.trials.A?.durationMs ?? 0)
    let both = 0
    let one = 0
    for (let i = 1; i < samples.length; i++) {
      const [at, ra, rb] = samples[i] as [number, number, number]
      const [prevAt, pa, pb] = samples[i - 1] as [number, number, number]
      if (prevAt < fromMs || at > toMs) continue
      const da = ra - pa
      const db = rb - pb
      if (da > 0 && db > 0) both++
      else if (da > 0 || db > 0) one++
    }
    expect(both).toBeGreaterThanOrEqual(8)
    expect(one).toBeLessThan(both / 2)
  })

  it("stops within seconds when one arm's target crashes, stopping both and saying which arm", async () => {
    const a = await fastServer()
    const b = await fastServer()
    servers.push(a, b)
    const ta = fakeTarget(a)
    const tb = fakeTarget(b)
    setTimeout(() => tb.crash(new Error('exited with code 1')), 700)
    const started = performance.now()
    const pair = await new Engine(plan, deps()).runPair({ A: ta.start, B: tb.start }, sp(10_000), { A: 0, B: 1 }, 'A', 500)
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(pair.aborted?.code).toBe('AUTHBENCH_ERR_TARGET_CRASHED')
    expect(pair.aborted?.reason).toMatch(/arm B: exited with code 1/)
    expect(ta.stops).toBe(1)
    expect(tb.stops).toBe(1)
  })
})
