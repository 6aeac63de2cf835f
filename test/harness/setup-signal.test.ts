// The seeding pattern the README documents, passing ctx.signal to every fetch of a setup, prints no
// MaxListenersExceededWarning however many fetches the setup makes: fetch keeps an abort listener
// on the signal until its request is garbage-collected, so thousands of them pile up on the one
// signal a run hands out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import type { RequestSpec } from '../../harness/api.ts'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { Engine } from '../../harness/engine/engine.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { testEnginePlan } from './helpers/engine-plan.ts'
import { fastServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

let server: TestServer
beforeAll(async () => {
  server = await fastServer()
})
afterAll(async () => {
  await server.close()
})

const FETCHES = 2_000
const BATCH = 500

const load: LoadSettings = { model: 'closed', durationMs: 200, warmupMs: 0, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2_000 }

const seeding = defineScenario({
  name: 'seeding',
  async setup(ctx) {
    // 500 at a time, as a seeding loop with a bounded number in flight would.
    for (let done = 0; done < FETCHES; done += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, () => fetch(`${ctx.url}/echo`, { method: 'POST', body: 'x', signal: ctx.signal }).then((r) => r.text())))
    }
    const spec: RequestSpec = { method: 'GET', path: '/ok', expectedStatuses: [200] }
    return { nextRequest: () => spec }
  }
})

describe('the signal a setup is given', () => {
  it(`takes ${FETCHES} fetches' abort listeners without a MaxListenersExceededWarning`, async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    try {
      const engine = new Engine(testEnginePlan('setup-signal', [{ scenario: seeding, params: {}, load }]), {
        target: { url: server.url },
        createDriver: () => createClosedDriver(),
        metrics: null,
        fetchTargetConfig: async () => null
      })
      const result = await engine.run()
      expect(result.aborted).toBeNull()
      expect(server.bodies.length).toBeGreaterThanOrEqual(FETCHES)
      // process.emitWarning delivers on a later tick.
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message)).toEqual([])
  })
})
