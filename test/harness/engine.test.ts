// The engine against a tiny local server: a scenario whose expected statuses are wrong is marked
// invalid (not reported as a result), a right one is valid, and an abort keeps what was measured.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { Engine } from '../../harness/engine/engine.ts'
import type { EngineDeps, EnginePlan } from '../../harness/engine/engine.ts'
import { validateResult } from '../../harness/result-io.ts'
import type { LoadSettings } from '../../harness/types.ts'
import type { Scenario } from '../../scenarios/types.ts'
import { testEnginePlan } from './helpers/engine-plan.ts'
import { okScenario } from './helpers/ok-scenario.ts'
import { fastServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

let server: TestServer
beforeAll(async () => {
  server = await fastServer()
})
afterAll(async () => {
  await server.close()
})

const load = (durationMs: number): LoadSettings => ({
  model: 'closed',
  durationMs,
  warmupMs: 200,
  connections: 4,
  pipelining: 1,
  rateRps: null,
  maxRequests: null,
  timeoutMs: 2_000
})

function plan(scenarios: Scenario[], durationMs: number, trials = 1): EnginePlan {
  return testEnginePlan(
    'engine-test',
    scenarios.map((scenario) => ({ scenario, params: {}, load: load(durationMs) })),
    trials
  )
}

const deps = (): EngineDeps => ({ target: { url: server.url }, createDriver: () => createClosedDriver(), metrics: null, fetchTargetConfig: async () => null })

describe('engine', () => {
  it('marks a trial whose statuses are all unexpected invalid (ERROR_RATE), and a right one valid', async () => {
    const engine = new Engine(plan([okScenario('wrong', 201), okScenario('right', 200)], 500), deps())
    const events: string[] = []
    for (const e of ['plan-start', 'trial-start', 'trial-done', 'scenario-done', 'done'] as const) engine.on(e, () => events.push(e))
    const result = await engine.run()

    const wrong = result.trials.find((t) => t.scenario === 'wrong')
    expect(wrong?.validity).toMatchObject({ state: 'invalid', code: 'ERROR_RATE' })
    expect(wrong?.errorsByKind.byStatus['200']).toBeGreaterThan(0)
    // No valid trial: the summary shows the invalid trial's figures, and says they are.
    expect(result.summary.find((s) => s.scenario === 'wrong')).toMatchObject({ validTrials: 0, throughputRps: wrong?.throughputRps, figuresFromInvalidTrials: true })
    expect(wrong?.throughputRps).toBeGreaterThan(0)

    const right = result.trials.find((t) => t.scenario === 'right')
    expect(right?.validity).toEqual({ state: 'valid' })
    expect(right?.requests).toBeGreaterThan(0)
    expect(result.summary.find((s) => s.scenario === 'right')?.latencyUs.count).toBe(right?.requests)

    expect(result.aborted).toBeNull()
    expect(events).toEqual(['plan-start', 'trial-start', 'trial-done', 'scenario-done', 'trial-start', 'trial-done', 'scenario-done', 'done'])
    expect(validateResult(result)).toEqual([])
  })

  it('summarises from the merged histogram and the median throughput of valid trials', async () => {
    const result = await new Engine(plan([okScenario('right', 200)], 300, 3), deps()).run()
    const s = result.summary[0]
    const rps = result.trials.map((t) => t.throughputRps).sort((a, b) => a - b)
    expect(s?.throughputRps).toBe(rps[1])
    expect(s?.latencyUs.count).toBe(result.trials.reduce((n, t) => n + t.latencyUs.count, 0))
    expect(s?.latencyUs.max).toBe(Math.max(...result.trials.map((t) => t.latencyUs.max)))
  })

  it('reads the calibration only once it is steady: a target slow for its first 3.5 s is not averaged in', async () => {
    // A server whose answers take 20 ms for its first 3.5 s, then none (a JIT warming, made slow
    // enough to see): a fixed 2 s warm-up would put its slow seconds into the five slices read.
    const startedAt = Date.now()
    const warming = createServer((req, res) => {
      const wait = Date.now() - startedAt < 3_500 ? 20 : 0
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), wait)
    })
    await new Promise<void>((resolve) => warming.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(warming.address() as AddressInfo).port}`
      const calibrated: EnginePlan = { ...plan([okScenario('right', 200)], 200), calibration: { durationMs: 5_000, connections: 32 }, probePath: '/' }
      const result = await new Engine(calibrated, { ...deps(), target: { url } }).run()
      const samples = result.calibration?.samplesRps ?? []
      expect(samples).toHaveLength(5)
      // 32 connections at 20 ms each allow 1,600 req/s; every slice read is well past that.
      expect(Math.min(...samples)).toBeGreaterThan(3_200)
    } finally {
      warming.closeAllConnections()
      await new Promise<void>((resolve) => warming.close(() => resolve()))
    }
  }, 30_000)

  it('stops within a second of an abort, keeping the trial and saying why', async () => {
    const controller = new AbortController()
    const engine = new Engine(plan([okScenario('right', 200)], 10_000, 2), deps())
    engine.on('stage', (p) => {
      if (p.stage === 'measure') setTimeout(() => controller.abort(), 300)
    })
    const started = Date.now()
    const result = await engine.run(controller.signal)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(result.aborted?.code).toBe('AUTHBENCH_ERR_ABORTED')
    expect(result.trials).toHaveLength(1)
    expect(result.trials[0]?.validity).toMatchObject({ state: 'invalid', code: 'ABORTED' })
    expect(validateResult(result)).toEqual([])
  })
})
