// client-session: one client's session per iteration, as a journey: issue a token (client
// credentials), validate it `validations` times, revoke it, and validate it once more. That last
// answer must be 401. A 200 there is a revocation that validate did not see, the bug this journey
// exists to find under load: it is a failed check ('revoked token is refused'), not a failed step,
// so the iteration and its figures go on the same whether the target is right or wrong.
import { CLIENT_SESSION_VALIDATIONS, DEFAULT_LOAD, JOURNEY_CHECKS, JOURNEY_STEPS } from './catalog.ts'
import { accessTokenOf, issueStep, refusedValidateStep, revokeStep, saysValid, validateStep } from './journey-requests.ts'
import { checkKnown, intParam } from './params.ts'
import type { Scenario, ScenarioParams, VirtualUser } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({
  validations: `validations of the live token in each iteration, before it is revoked; default ${CLIENT_SESSION_VALIDATIONS}`
})

export interface ClientSessionOptions {
  validations: number
}

export function clientSessionOptions(params: ScenarioParams): ClientSessionOptions {
  checkKnown('client-session', params, PARAMS)
  return { validations: intParam('client-session', params, 'validations', CLIENT_SESSION_VALIDATIONS, 0, 1_000) }
}

/** One iteration: token → validate × n → revoke → validate, which must be refused. */
export async function clientSessionIteration(vu: VirtualUser<Record<string, unknown>, ClientSessionOptions>): Promise<void> {
  const jwt = accessTokenOf(vu, await vu.request(issueStep('token')))
  for (let i = 0; i < vu.data.validations; i++) {
    const live = await vu.request(validateStep(jwt))
    vu.check(live, { [JOURNEY_CHECKS.tokenValid]: saysValid })
  }
  await vu.request(revokeStep(jwt))
  const after = await vu.request(refusedValidateStep(jwt, JOURNEY_STEPS.validateRevoked))
  vu.check(after, { [JOURNEY_CHECKS.revokedRefused]: (r) => r.status === 401 })
}

export const clientSession: Scenario = defineScenario<Record<string, unknown>, ClientSessionOptions>({
  name: 'client-session',
  k6Script: k6Script('client-session'),
  description: `journey: POST /token, validate it N times (default ${CLIENT_SESSION_VALIDATIONS}), revoke it, validate again (must be 401)`,
  consumes: false,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => void clientSessionOptions(params),
  journey: {
    setup: (ctx) => clientSessionOptions(ctx.params),
    iteration: clientSessionIteration
  }
})
