// token: POST /token with the sample client's client_credentials body; every request issues a new JWT.
import { DEFAULT_LOAD, ENDPOINTS, EXPECTED_STATUS, JSON_HEADERS, TEST_CLIENT, credentialsBody } from './catalog.ts'
import { checkKnown } from './params.ts'
import type { RequestSpec, Scenario, ScenarioInstance } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({})

const TOKEN_REQUEST: RequestSpec = Object.freeze({
  method: ENDPOINTS.token.method,
  path: ENDPOINTS.token.path,
  headers: JSON_HEADERS,
  body: credentialsBody(TEST_CLIENT),
  expectedStatuses: EXPECTED_STATUS.token,
  tag: 'token'
})

export function tokenRequest(): RequestSpec {
  return TOKEN_REQUEST
}

export const token: Scenario = defineScenario({
  name: 'token',
  k6Script: k6Script('token'),
  description: 'POST /token (client_credentials): issue an access token',
  consumes: false,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => checkKnown('token', params, PARAMS),
  async setup(): Promise<ScenarioInstance> {
    return {
      nextRequest: tokenRequest,
      fixedRequest: tokenRequest(),
      refill: async () => undefined,
      resetStats: () => undefined,
      stats: () => ({ seeded: 0, exhaustedRequests: 0, setupMs: 0 }),
      capacity: () => null
    }
  }
})
