// The journey driver against a REST service of the tests' own: a create → read → update → patch →
// delete flow in the closed model, the open model and with stages, where every count must add up
// exactly (the service's own counters agree with the per-step figures, and every item created is
// deleted); and a check that fails on 1% of answers reads 1% ± 0.2%.
import { afterEach, describe, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import { JourneyDriver } from '../../harness/engine/drivers/journey.ts'
import { ArrivalSchedule } from '../../harness/engine/drivers/schedule.ts'
import type { DriverOutcome } from '../../harness/engine/drivers/types.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { restServer } from './helpers/servers.ts'

type Rest = Awaited<ReturnType<typeof restServer>>
let server: Rest | null = null
afterEach(async () => {
  await server?.close()
  server = null
})

const crud = defineScenario({
  name: 'crud',
  journey: {
    state: () => ({ created: 0 }),
    iteration: async (vu) => {
      const created = await vu.post('/items', { name: 'a' }, { step: 'create', expectedStatuses: [201] })
      const id = created.json<{ id: number }>().id
      await vu.group('edit', async () => {
        const read = await vu.get(`/items/${id}`, { step: 'read' })
        vu.check(read, { 'name is a': (r) => r.json<{ name: string }>().name === 'a', 'json content type': (r) => r.header('Content-Type') === 'application/json' })
        await vu.put(`/items/${id}`, { name: 'b' }, { step: 'update' })
        await vu.patch(`/items/${id}`, { extra: 1 }, { step: 'patch' })
      })
      await vu.delete(`/items/${id}`, { step: 'delete', expectedStatuses: [204] })
      ;(vu.state as { created: number }).created++
    }
  }
})

async function drive(load: Partial<LoadSettings>, url: string): Promise<DriverOutcome> {
  const instance = await crud.setup({ url, expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: {} })
  const full: LoadSettings = { model: 'closed', durationMs: 1000, warmupMs: 0, connections: 4, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 5000, ...load }
  const errors: string[] = []
  const outcome = await new JourneyDriver().run({
    url,
    load: full,
    nextRequest: instance.nextRequest,
    ...(instance.journey === undefined ? {} : { journey: instance.journey }),
    onScenarioError: (m) => errors.push(m)
  })
  expect(errors).toEqual([])
  return outcome
}

/** Every count the service kept equals the step's, and nothing is left behind. */
function expectExact(outcome: DriverOutcome, rest: Rest): void {
  const j = outcome.journey
  if (j === undefined) throw new Error('no journey figures')
  const steps = j.steps
  expect(Object.keys(steps).sort()).toEqual(['create', 'delete', 'edit/patch', 'edit/read', 'edit/update'])
  expect(steps.create?.requests).toBe(rest.counters.created)
  expect(steps['edit/read']?.requests).toBe(rest.counters.read)
  expect(steps['edit/update']?.requests).toBe(rest.counters.updated)
  expect(steps['edit/patch']?.requests).toBe(rest.counters.patched)
  expect(steps.delete?.requests).toBe(rest.counters.deleted)
  expect(rest.counters.deleted).toBe(rest.counters.created)
  expect(rest.counters.live()).toBe(0)
  expect(j.iterations.completed).toBe(rest.counters.created)
  expect(j.iterations.failed).toBe(0)
  expect(j.iterations.started).toBe(j.iterations.completed)
  expect(outcome.requests).toBe(5 * rest.counters.created)
  expect(outcome.errors).toBe(0)
  expect(j.groups.edit?.requests).toBe(rest.counters.created)
  expect(j.checks['edit/name is a']).toEqual({ passes: rest.counters.read, failures: 0 })
  expect(j.checks['edit/json content type']?.failures).toBe(0)
}

describe('a REST journey', () => {
  it('closed model: N VUs loop, and every count adds up', { timeout: 20_000 }, async () => {
    server = await restServer()
    const outcome = await drive({ connections: 4 }, server.url)
    expect(server.counters.created).toBeGreaterThan(50)
    expectExact(outcome, server)
    expect(outcome.journey?.peakVus).toBe(4)
  })

  it('open model: iterations at the arrival rate, each due one started and finished', { timeout: 20_000 }, async () => {
    server = await restServer()
    const outcome = await drive({ model: 'open', rateRps: 200, durationMs: 1000 }, server.url)
    expectExact(outcome, server)
    expect(outcome.journey?.iterations.started).toBe(200)
    expect(outcome.journey?.iterations.dropped).toBe(0)
    expect(outcome.openModel?.limitedBy).toBe('none')
  })

  it('stages: the open model follows the ramp exactly; the closed model ramps its VUs', { timeout: 20_000 }, async () => {
    server = await restServer()
    const stages = [
      { durationMs: 500, target: 400 },
      { durationMs: 500, target: 0 }
    ]
    const open = await drive({ model: 'open', rateRps: 100, stages }, server.url)
    expectExact(open, server)
    // 100 → 400 over 0.5 s is 125 arrivals, 400 → 0 over 0.5 s is 100.
    expect(open.journey?.iterations.started).toBe(225)
    await server.close()
    server = await restServer()
    const closed = await drive(
      {
        connections: 1,
        stages: [
          { durationMs: 600, target: 6 },
          { durationMs: 400, target: 6 }
        ]
      },
      server.url
    )
    expectExact(closed, server)
    expect(closed.journey?.peakVus).toBe(6)
  })

  it('a check failing on 1% of answers reads 1% ± 0.2%', { timeout: 30_000 }, async () => {
    server = await restServer({ checkFailEvery: 100 })
    const outcome = await drive({ connections: 8, durationMs: 2500 }, server.url)
    const check = outcome.journey?.checks['edit/name is a']
    if (check === undefined) throw new Error('no check counts')
    const rate = check.failures / (check.passes + check.failures)
    expect(check.passes + check.failures).toBeGreaterThan(2000)
    expect(rate).toBeGreaterThan(0.008)
    expect(rate).toBeLessThan(0.012)
    // A check failure is not a step failure: every iteration still completed.
    expect(outcome.journey?.iterations.failed).toBe(0)
  })

  it('an unexpected status ends the iteration and is counted under its step', { timeout: 20_000 }, async () => {
    server = await restServer()
    const failing = defineScenario({
      name: 'failing',
      journey: {
        iteration: async (vu) => {
          await vu.get('/items/999999', { step: 'missing' })
          await vu.get('/never', { step: 'unreached' })
        }
      }
    })
    const instance = await failing.setup({ url: server.url, expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: {} })
    const outcome = await new JourneyDriver().run({
      url: server.url,
      load: { model: 'closed', durationMs: 500, warmupMs: 0, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 5000 },
      nextRequest: instance.nextRequest,
      ...(instance.journey === undefined ? {} : { journey: instance.journey })
    })
    const j = outcome.journey
    expect(j?.steps.missing?.errors).toBe(j?.steps.missing?.requests)
    expect(j?.steps.missing?.errorsByKind.byStatus['404']).toBe(j?.steps.missing?.requests)
    expect(j?.steps.unreached).toBeUndefined()
    expect(j?.iterations.failed).toBe(j?.steps.missing?.requests)
    expect(j?.failures['missing: unexpected status 404']).toBe(j?.iterations.failed)
  })

  it('a scenario whose own code throws is reported to the engine, not counted as the target failing', { timeout: 20_000 }, async () => {
    server = await restServer()
    const buggy = defineScenario({
      name: 'buggy',
      journey: {
        iteration: async (vu) => {
          await vu.post('/items', {}, { step: 'create' })
          throw new TypeError('x is undefined')
        }
      }
    })
    const instance = await buggy.setup({ url: server.url, expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: {} })
    const errors: string[] = []
    await new JourneyDriver().run({
      url: server.url,
      load: { model: 'closed', durationMs: 200, warmupMs: 0, connections: 1, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 5000 },
      nextRequest: instance.nextRequest,
      ...(instance.journey === undefined ? {} : { journey: instance.journey }),
      onScenarioError: (m) => errors.push(m)
    })
    expect(errors[0]).toMatch(/after step create: TypeError: x is undefined/)
  })
})

describe('the arrival schedule', () => {
  it('counts the integral of the rate and never repeats or skips an arrival', () => {
    const schedule = new ArrivalSchedule(100, 1000, 0, [
      { durationMs: 2000, target: 300 },
      { durationMs: 1000, target: 300 },
      { durationMs: 1000, target: 0 }
    ])
    // Warm-up 100, ramp (100 + 300) / 2 × 2 = 400, flat 300, ramp down 150.
    expect(schedule.firstMeasured).toBe(100)
    expect(schedule.total).toBe(950)
    let previous = -1
    for (let i = 0; i < schedule.total; i++) {
      const t = schedule.timeOfMs(i)
      expect(t).toBeGreaterThan(previous)
      previous = t
    }
    expect(schedule.timeOfMs(100)).toBeCloseTo(1000, 6)
    expect(schedule.timeOfMs(500)).toBeCloseTo(3000, 6)
    expect(schedule.timeOfMs(949)).toBeLessThanOrEqual(5000)
  })
})
