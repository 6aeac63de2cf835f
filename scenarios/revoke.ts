// revoke: POST /revoke, every request revoking a different live token seeded beforehand, so each
// measured request takes the success path, not the cheaper rejection of an already-revoked token.
import { DEFAULT_LOAD, ENDPOINTS, EXPECTED_STATUS, bearerHeaders } from './catalog.ts'
import { checkKnown } from './params.ts'
import { TokenSupply } from './seeder.ts'
import type { RequestSpec, Scenario, ScenarioInstance, SetupContext } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({})

export function revokeRequest(jwt: string): RequestSpec {
  return { method: 'POST', path: ENDPOINTS.revoke.path, headers: bearerHeaders(jwt, false), expectedStatuses: EXPECTED_STATUS.revoke, tag: 'revoke' }
}

export const revoke: Scenario = defineScenario({
  name: 'revoke',
  k6Script: k6Script('revoke'),
  description: 'POST /revoke, each request revoking a distinct live token',
  consumes: true,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => checkKnown('revoke', params, PARAMS),
  async setup(ctx: SetupContext): Promise<ScenarioInstance> {
    checkKnown('revoke', ctx.params, PARAMS)
    const supply = new TokenSupply('token', ctx.url, ctx.maxPoolSize, ctx.concurrency)
    await supply.ensure(ctx.expectedRequests, ctx.signal)
    return {
      nextRequest: () => revokeRequest(supply.pool.take()),
      refill: (n, signal) => supply.ensure(n, signal),
      resetStats: () => {
        supply.pool.exhausted = 0
      },
      stats: () => ({ seeded: supply.seeded, exhaustedRequests: supply.pool.exhausted, setupMs: supply.setupMs }),
      capacity: () => supply.pool.remaining
    }
  }
})
