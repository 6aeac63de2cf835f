// k6 script for the client-session journey: each iteration issues a token, validates it
// VALIDATIONS times (default as in the catalog), revokes it and validates it once more, in one
// k6 group. The last validate must be 401: its status check accepts 200 too (as the harness's
// step does) and the check 'revoked token is refused' says whether it was refused, so a target
// that forgets revocations fails that check, and with it the checks threshold, not the status.
import { check, group } from 'k6'
import { CLIENT_SESSION_VALIDATIONS, JOURNEY_CHECKS, JOURNEY_STEPS } from '../catalog.ts'
import { TOKEN_REQUEST, refusedValidateRequest, revokeRequest, validateRequest } from './requests.ts'
import { accessToken, buildOptions, intEnv, loadConfig, saysValid, seedNothing, sendStep } from './lib.ts'

const config = loadConfig()
export const options = buildOptions('client-session', config)
const validations = intEnv('VALIDATIONS', CLIENT_SESSION_VALIDATIONS, 0, 1_000)

export function setup(): void {
  seedNothing()
}

function session(): void {
  const issued = sendStep(config.baseUrl, TOKEN_REQUEST)
  const jwt = issued === null ? null : accessToken(issued)
  if (jwt === null) return
  for (let i = 0; i < validations; i++) {
    const live = sendStep(config.baseUrl, validateRequest(jwt))
    if (live === null) return
    check(live, { [JOURNEY_CHECKS.tokenValid]: saysValid })
  }
  if (sendStep(config.baseUrl, revokeRequest(jwt)) === null) return
  const after = sendStep(config.baseUrl, refusedValidateRequest(jwt, JOURNEY_STEPS.validateRevoked))
  if (after === null) return
  check(after, { [JOURNEY_CHECKS.revokedRefused]: (r) => r.status === 401 })
}

export default function (): void {
  group('client-session', session)
}
