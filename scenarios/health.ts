// health: GET / on the base path. Touches no dependency, so it measures the HTTP stack alone.
import { DEFAULT_LOAD, ENDPOINTS, EXPECTED_STATUS } from './catalog.ts'
import { checkKnown } from './params.ts'
import type { RequestSpec, Scenario, ScenarioInstance } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({})

// One frozen spec: nothing varies per request, and the driver's hot path should not allocate.
const HEALTH_REQUEST: RequestSpec = Object.freeze({
  method: ENDPOINTS.health.method,
  path: ENDPOINTS.health.path,
  expectedStatuses: EXPECTED_STATUS.health,
  tag: 'health'
})

export function healthRequest(): RequestSpec {
  return HEALTH_REQUEST
}

export const health: Scenario = defineScenario({
  name: 'health',
  k6Script: k6Script('health'),
  description: 'GET / (200 "ok"): the HTTP stack alone, no dependency',
  consumes: false,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => checkKnown('health', params, PARAMS),
  async setup(): Promise<ScenarioInstance> {
    return {
      nextRequest: healthRequest,
      fixedRequest: healthRequest(),
      refill: async () => undefined,
      resetStats: () => undefined,
      stats: () => ({ seeded: 0, exhaustedRequests: 0, setupMs: 0 }),
      capacity: () => null
    }
  }
})
