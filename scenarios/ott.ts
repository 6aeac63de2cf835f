// ott: the one-time-token life cycle, issue then redeem once. Requests alternate between issuing
// an OTT (POST /ott) and redeeming a distinct OTT issued in setup (POST /validate), so both halves
// take the success path. A redeem cannot use the OTT issued by the request just before it: the
// driver's request factory never sees responses.
import { DEFAULT_LOAD, ENDPOINTS, EXPECTED_STATUS, JSON_HEADERS, TEST_CLIENT, bearerHeaders, credentialsBody, validateBody } from './catalog.ts'
import { checkKnown } from './params.ts'
import { TokenSupply } from './seeder.ts'
import type { RequestSpec, Scenario, ScenarioInstance, SetupContext } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({})

const ISSUE_REQUEST: RequestSpec = Object.freeze({
  method: ENDPOINTS.ott.method,
  path: ENDPOINTS.ott.path,
  headers: JSON_HEADERS,
  body: credentialsBody(TEST_CLIENT),
  expectedStatuses: EXPECTED_STATUS.ott,
  tag: 'ott-issue'
})
const REDEEM_BODY = validateBody()

export function ottIssueRequest(): RequestSpec {
  return ISSUE_REQUEST
}

export function ottRedeemRequest(ott: string): RequestSpec {
  return { method: 'POST', path: ENDPOINTS.validate.path, headers: bearerHeaders(ott, true), body: REDEEM_BODY, expectedStatuses: EXPECTED_STATUS.validate, tag: 'ott-redeem' }
}

/** Half the requests redeem, so a run of n requests needs n/2 one-time tokens. */
const REDEEM_SHARE = 0.5

export const ott: Scenario = defineScenario({
  name: 'ott',
  k6Script: k6Script('ott'),
  description: 'one-time tokens: POST /ott (issue) alternating with POST /validate redeeming a distinct OTT once',
  consumes: true,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => checkKnown('ott', params, PARAMS),
  async setup(ctx: SetupContext): Promise<ScenarioInstance> {
    checkKnown('ott', ctx.params, PARAMS)
    const supply = new TokenSupply('ott', ctx.url, ctx.maxPoolSize, ctx.concurrency)
    await supply.ensure(ctx.expectedRequests * REDEEM_SHARE, ctx.signal)
    let n = 0
    return {
      nextRequest: () => (n++ % 2 === 0 ? ottIssueRequest() : ottRedeemRequest(supply.pool.take())),
      refill: (count, signal) => supply.ensure(count * REDEEM_SHARE, signal),
      resetStats: () => {
        supply.pool.exhausted = 0
      },
      stats: () => ({ seeded: supply.seeded, exhaustedRequests: supply.pool.exhausted, setupMs: supply.setupMs }),
      capacity: () => Math.max(0, supply.pool.remaining * 2 - 1)
    }
  }
})
