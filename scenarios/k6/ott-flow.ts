// k6 script for the ott-flow journey: each iteration issues a one-time token, redeems it (POST
// /validate, 200) and presents it again, which must be 401, in one k6 group. As in the harness,
// the second validate's status check accepts 200 too and the check 'spent OTT is refused' says
// whether it was refused, so an OTT redeemed twice fails that check, not the status.
import { check, group } from 'k6'
import { JOURNEY_CHECKS, JOURNEY_STEPS } from '../catalog.ts'
import { OTT_STEP_REQUEST, refusedValidateRequest, validateRequest } from './requests.ts'
import { accessToken, buildOptions, loadConfig, saysValid, seedNothing, sendStep } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('ott-flow', config)

export function setup(): void {
  seedNothing()
}

function flow(): void {
  const issued = sendStep(config.baseUrl, OTT_STEP_REQUEST)
  const ott = issued === null ? null : accessToken(issued)
  if (ott === null) return
  const redeemed = sendStep(config.baseUrl, validateRequest(ott))
  if (redeemed === null) return
  check(redeemed, { [JOURNEY_CHECKS.ottValid]: saysValid })
  const again = sendStep(config.baseUrl, refusedValidateRequest(ott, JOURNEY_STEPS.validateSpent))
  if (again === null) return
  check(again, { [JOURNEY_CHECKS.spentRefused]: (r) => r.status === 401 })
}

export default function (): void {
  group('ott-flow', flow)
}
