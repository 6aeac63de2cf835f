// ott-flow: a one-time token's life per iteration, as a journey: issue an OTT, redeem it (POST
// /validate, 200), then present the same OTT again, which must be 401. A second 200 is an OTT
// redeemed twice, the bug this journey exists to find under load: it is a failed check ('spent OTT
// is refused'), not a failed step, so the iteration goes on the same whether the target is right.
import { DEFAULT_LOAD, JOURNEY_CHECKS, JOURNEY_STEPS } from './catalog.ts'
import { accessTokenOf, issueStep, refusedValidateStep, saysValid, validateStep } from './journey-requests.ts'
import { checkKnown } from './params.ts'
import type { Scenario, VirtualUser } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({})

/** One iteration: ott → validate (redeems it) → validate the same OTT, which must be refused. */
export async function ottFlowIteration(vu: VirtualUser): Promise<void> {
  const ott = accessTokenOf(vu, await vu.request(issueStep('ott')))
  const redeemed = await vu.request(validateStep(ott))
  vu.check(redeemed, { [JOURNEY_CHECKS.ottValid]: saysValid })
  const again = await vu.request(refusedValidateStep(ott, JOURNEY_STEPS.validateSpent))
  vu.check(again, { [JOURNEY_CHECKS.spentRefused]: (r) => r.status === 401 })
}

export const ottFlow: Scenario = defineScenario({
  name: 'ott-flow',
  k6Script: k6Script('ott-flow'),
  description: 'journey: POST /ott, redeem it with POST /validate (200), present it again (must be 401)',
  consumes: false,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => checkKnown('ott-flow', params, PARAMS),
  journey: { iteration: ottFlowIteration }
})
