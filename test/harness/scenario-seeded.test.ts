// What a trial's `setup` record says of a scenario that keeps no stats() of its own: the items its
// setup reports seeding (`seeded` beside nextRequest), and how long the setup took, timed by the harness.
import { describe, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import type { SetupContext } from '../../harness/api.ts'

const ctx: SetupContext = { url: 'http://127.0.0.1:1', expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params: {} }

describe('a generated scenario without stats()', () => {
  it('reports the seeded count its setup returns, and the setup time the harness measured', async () => {
    const scenario = defineScenario({
      name: 'seeds',
      setup: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        return { nextRequest: () => ({ method: 'GET', path: '/', expectedStatuses: [200] }), seeded: 42 }
      }
    })
    const stats = (await scenario.setup(ctx)).stats()
    expect(stats.seeded).toBe(42)
    expect(stats.setupMs).toBeGreaterThanOrEqual(25)
  })

  it("a scenario's own stats() still wins", async () => {
    const scenario = defineScenario({
      name: 'own',
      setup: () => ({ nextRequest: () => ({ method: 'GET', path: '/', expectedStatuses: [200] }), seeded: 1, stats: () => ({ seeded: 7, exhaustedRequests: 0, setupMs: 3 }) })
    })
    expect((await scenario.setup(ctx)).stats()).toEqual({ seeded: 7, exhaustedRequests: 0, setupMs: 3 })
  })
})
