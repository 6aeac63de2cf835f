// Coordinated omission made visible: against a server that holds every response for 200 ms once
// a second, the open model (latency from the intended send time) shows the stall in its p99; the
// closed model stops sending while it waits, so the stall touches only a handful of its samples.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import { ClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { JourneyDriver } from '../../harness/engine/drivers/journey.ts'
import { latencyLowerBound } from '../../harness/engine/journey-figures.ts'
import { classifyOpenModel } from '../../harness/engine/saturation.ts'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import type { DriverOutcome, RequestSpec } from '../../harness/engine/drivers/types.ts'
import { summarizeEncoded } from '../../harness/stats/recorder.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { stallingServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

const STALL_MS = 200
const ok: RequestSpec = { method: 'GET', path: '/', expectedStatuses: [200] }
const base: LoadSettings = { model: 'open', durationMs: 3000, warmupMs: 200, connections: 20, pipelining: 1, rateRps: 500, maxRequests: null, timeoutMs: 5000 }

let server: TestServer
beforeAll(async () => {
  server = await stallingServer(STALL_MS)
})
afterAll(async () => {
  await server.close()
})

it('the open model shows a 200 ms stall in p99; the closed model under-reports it', { timeout: 20_000 }, async () => {
  const open = await new OpenDriver().run({ url: server.url, load: base, nextRequest: () => ok })
  const closed = await new ClosedDriver().run({ url: server.url, load: { ...base, model: 'closed', connections: 2, rateRps: null }, nextRequest: () => ok })
  const openP99 = summarizeEncoded(open.histogram).p99
  const closedP99 = summarizeEncoded(closed.histogram).p99

  expect(open.errors).toBe(0)
  expect(closed.errors).toBe(0)
  expect(openP99).toBeGreaterThanOrEqual(150_000)
  expect(closedP99 * 3).toBeLessThan(openP99)
  // Both saw the stall: the closed model's max is as long, only its percentiles hide it.
  expect(summarizeEncoded(closed.histogram).max).toBeGreaterThanOrEqual(100_000)
})

// A two-step journey in the open model: GET, a constant 500 ms think time, GET. Iterations arrive
// uniformly in time, so each step is sent inside the stall window (the first 200 ms of a second)
// for 20% of iterations and then waits out the rest of it: the analytic truth for both steps is
// P(latency > x) = 0.2 × (1 − x / 200 ms), a p99 of 190 ms. Iterations whose first step stalled
// send their second at 700 ms, outside it, which is why the think time is what it is.
const journeyLoad: LoadSettings = {
  model: 'open',
  durationMs: 4000,
  warmupMs: 0,
  connections: 20,
  pipelining: 1,
  rateRps: 200,
  maxRequests: null,
  timeoutMs: 5000,
  maxInFlight: 400
}
const twoSteps = defineScenario({
  name: 'two-steps',
  journey: {
    iteration: async (vu) => {
      await vu.get('/', { step: 'first' })
      await vu.sleep(500)
      await vu.get('/', { step: 'second' })
    }
  }
})

async function runJourney(load: LoadSettings): Promise<DriverOutcome> {
  const instance = await twoSteps.setup({ url: server.url, expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: {} })
  return await new JourneyDriver().run({ url: server.url, load, nextRequest: instance.nextRequest, ...(instance.journey === undefined ? {} : { journey: instance.journey }) })
}

it('a two-step journey in the open model shows the stall in its second step as the analytic p99 (190 ms)', { timeout: 30_000 }, async () => {
  const outcome = await runJourney(journeyLoad)
  const steps = outcome.journey?.steps ?? {}
  const firstP99 = summarizeEncoded(steps.first?.histogram ?? '').p99
  const secondP99 = summarizeEncoded(steps.second?.histogram ?? '').p99
  console.log(`stall ${STALL_MS} ms, truth p99 190 ms: first step p99 ${(firstP99 / 1000).toFixed(1)} ms, second step p99 ${(secondP99 / 1000).toFixed(1)} ms`)
  expect(outcome.errors).toBe(0)
  expect(outcome.journey?.iterations.dropped).toBe(0)
  for (const p99 of [firstP99, secondP99]) {
    expect(p99).toBeGreaterThan(170_000)
    expect(p99).toBeLessThan(215_000)
  }
  expect(latencyLowerBound(outcome)).toBe(false)
})

it('with too few VUs the stalled iterations are dropped: counted, percentiles marked lower bounds, the trial saturated', { timeout: 30_000 }, async () => {
  const outcome = await runJourney({ ...journeyLoad, durationMs: 2000, maxInFlight: 60 })
  expect(outcome.journey?.iterations.dropped).toBeGreaterThan(0)
  expect(outcome.openModel?.dropped).toBe(outcome.journey?.iterations.dropped)
  expect(latencyLowerBound(outcome)).toBe(true)
  expect(outcome.openModel?.limitedBy).toBe('server')
})

it('requests at 1,000/s with the default in-flight bound: a 200 ms stall drops sends, and the trial is not read as valid', { timeout: 30_000 }, async () => {
  const outcome = await new OpenDriver().run({ url: server.url, load: { ...base, rateRps: 1000, durationMs: 2000, connections: 20 }, nextRequest: () => ok })
  const open = outcome.openModel
  if (open === undefined) throw new Error('no open-model figures')
  expect(open.dropped / open.scheduled).toBeGreaterThan(0.01)
  expect(classifyOpenModel(open, 0.05).limitedBy).toBe('server')
  expect(latencyLowerBound(outcome)).toBe(true)
})
