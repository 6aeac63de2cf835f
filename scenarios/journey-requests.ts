// The steps of the journey scenarios (client-session, ott-flow) as a VU sends them, built from the
// catalog: endpoints, bodies, headers, expected statuses and step names. Their k6 scripts build the
// same requests in k6/requests.ts, and test/scenarios/k6-journeys.test.ts holds the two equal.
import { ENDPOINTS, EXPECTED_STATUS, JOURNEY_STEPS, JSON_HEADERS, TEST_CLIENT, bearerHeaders, credentialsBody, validateBody } from './catalog.ts'
import type { JourneyRequest, JourneyResponse } from './types.ts'

const CREDENTIALS = credentialsBody(TEST_CLIENT)
const VALIDATE_BODY = validateBody()

/** POST /token or /ott with the sample client's credentials. */
export function issueStep(kind: 'token' | 'ott'): JourneyRequest {
  return {
    method: ENDPOINTS[kind].method,
    path: ENDPOINTS[kind].path,
    headers: JSON_HEADERS,
    body: CREDENTIALS,
    step: JOURNEY_STEPS[kind],
    expectedStatuses: EXPECTED_STATUS[kind]
  }
}

/** POST /validate of a live token (or an unspent OTT): anything but 200 ends the iteration. */
export function validateStep(jwt: string): JourneyRequest {
  return {
    method: ENDPOINTS.validate.method,
    path: ENDPOINTS.validate.path,
    headers: bearerHeaders(jwt, true),
    body: VALIDATE_BODY,
    step: JOURNEY_STEPS.validate,
    expectedStatuses: EXPECTED_STATUS.validate
  }
}

/**
 * POST /validate of a token that must be refused: 401, or 200 when the target is wrong, which
 * the iteration's check records; any other status ends the iteration like any failed step.
 */
export function refusedValidateStep(jwt: string, step: typeof JOURNEY_STEPS.validateRevoked | typeof JOURNEY_STEPS.validateSpent): JourneyRequest {
  return {
    method: ENDPOINTS.validate.method,
    path: ENDPOINTS.validate.path,
    headers: bearerHeaders(jwt, true),
    body: VALIDATE_BODY,
    step,
    expectedStatuses: EXPECTED_STATUS.validateRefused
  }
}

/** POST /revoke of a token, as bearer, without a body. */
export function revokeStep(jwt: string): JourneyRequest {
  return { method: ENDPOINTS.revoke.method, path: ENDPOINTS.revoke.path, headers: bearerHeaders(jwt, false), step: JOURNEY_STEPS.revoke, expectedStatuses: EXPECTED_STATUS.revoke }
}

/** The `access_token` of an issue step's 200; an answer without one ends the iteration as failed. */
export function accessTokenOf(vu: { fail(message: string): never }, response: JourneyResponse): string {
  const token = response.json<{ access_token?: unknown }>().access_token
  if (typeof token !== 'string' || token === '') vu.fail('the answer has no access_token')
  return token
}

/** A validate answer that says the token is valid. */
export function saysValid(response: JourneyResponse): boolean {
  return response.json<{ valid?: unknown }>().valid === true
}
