// The scenario test double the engine tests share: GET /ok (every test server answers it 200),
// claiming to expect `expected`, so that a wrong expectation makes every answer unexpected.
import { DEFAULT_LOAD } from '../../../scenarios/catalog.ts'
import type { Scenario } from '../../../scenarios/types.ts'

export function okScenario(name = 'ok', expected = 200): Scenario {
  return {
    name,
    description: 'test double',
    consumes: false,
    defaultLoad: DEFAULT_LOAD,
    params: {},
    checkParams: () => undefined,
    setup: async () => ({
      nextRequest: () => ({ method: 'GET', path: '/ok', expectedStatuses: [expected], tag: name }),
      refill: async () => undefined,
      resetStats: () => undefined,
      stats: () => ({ seeded: 0, exhaustedRequests: 0, setupMs: 0 }),
      capacity: () => null
    })
  }
}
