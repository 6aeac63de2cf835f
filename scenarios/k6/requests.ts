// The requests the k6 scripts send, built from ../catalog.ts only (endpoints, bodies, headers,
// expected statuses), in the same shape as the harness scenarios' RequestSpec so a test can check
// both send the same thing. Imports no k6 module, so Node tests load it too.
import { ENDPOINTS, EXPECTED_STATUS, JOURNEY_STEPS, JSON_HEADERS, TEST_CLIENT, bearerHeaders, credentialsBody, validateBody } from '../catalog.ts'

export interface K6Request {
  method: string
  path: string
  headers?: Readonly<Record<string, string>>
  body?: string
  expectedStatuses: readonly number[]
  /** Also the k6 `name` tag, so k6's own output groups requests by kind rather than by URL. */
  tag: string
}

const REDEEM_BODY = validateBody()

export const HEALTH_REQUEST: K6Request = Object.freeze({
  method: ENDPOINTS.health.method,
  path: ENDPOINTS.health.path,
  expectedStatuses: EXPECTED_STATUS.health,
  tag: 'health'
})

export const TOKEN_REQUEST: K6Request = Object.freeze({
  method: ENDPOINTS.token.method,
  path: ENDPOINTS.token.path,
  headers: JSON_HEADERS,
  body: credentialsBody(TEST_CLIENT),
  expectedStatuses: EXPECTED_STATUS.token,
  tag: 'token'
})

export const OTT_ISSUE_REQUEST: K6Request = Object.freeze({
  method: ENDPOINTS.ott.method,
  path: ENDPOINTS.ott.path,
  headers: JSON_HEADERS,
  body: credentialsBody(TEST_CLIENT),
  expectedStatuses: EXPECTED_STATUS.ott,
  tag: 'ott-issue'
})

export function ottRedeemRequest(ott: string): K6Request {
  return {
    method: ENDPOINTS.validate.method,
    path: ENDPOINTS.validate.path,
    headers: bearerHeaders(ott, true),
    body: REDEEM_BODY,
    expectedStatuses: EXPECTED_STATUS.validate,
    tag: 'ott-redeem'
  }
}

export function validateRequest(jwt: string): K6Request {
  return {
    method: ENDPOINTS.validate.method,
    path: ENDPOINTS.validate.path,
    headers: bearerHeaders(jwt, true),
    body: REDEEM_BODY,
    expectedStatuses: EXPECTED_STATUS.validate,
    tag: 'validate'
  }
}

export function revokeRequest(jwt: string): K6Request {
  return { method: ENDPOINTS.revoke.method, path: ENDPOINTS.revoke.path, headers: bearerHeaders(jwt, false), expectedStatuses: EXPECTED_STATUS.revoke, tag: 'revoke' }
}

/** The journeys' issue step: as OTT_ISSUE_REQUEST, named as the harness's journey step. */
export const OTT_STEP_REQUEST: K6Request = Object.freeze({ ...OTT_ISSUE_REQUEST, tag: JOURNEY_STEPS.ott })

/**
 * A validate that must be refused, in a journey: 401, or 200 when the target is wrong, which the
 * script's own check counts (as the harness's journey does); any other status is unexpected.
 */
export function refusedValidateRequest(jwt: string, tag: typeof JOURNEY_STEPS.validateRevoked | typeof JOURNEY_STEPS.validateSpent): K6Request {
  return {
    method: ENDPOINTS.validate.method,
    path: ENDPOINTS.validate.path,
    headers: bearerHeaders(jwt, true),
    body: REDEEM_BODY,
    expectedStatuses: EXPECTED_STATUS.validateRefused,
    tag
  }
}
