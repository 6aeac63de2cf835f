// The single source of truth for what the scenarios send: base path, endpoints, bodies, expected
// statuses, default load and mix weights. The harness scenarios and the k6 scripts both import
// this file, so it must stay free of Node-only imports (no node:*, no npm packages) and of state.

export const BASE_PATH = '/auth-server/v1/oauth'

export const ENDPOINTS = Object.freeze({
  health: { method: 'GET', path: `${BASE_PATH}/` },
  token: { method: 'POST', path: `${BASE_PATH}/token` },
  ott: { method: 'POST', path: `${BASE_PATH}/ott` },
  validate: { method: 'POST', path: `${BASE_PATH}/validate` },
  revoke: { method: 'POST', path: `${BASE_PATH}/revoke` },
  debugStats: { method: 'GET', path: `${BASE_PATH}/debug/stats` },
  metrics: { method: 'GET', path: '/metrics' }
} as const)

export interface ClientCredentials {
  clientId: string
  clientSecret: string
}

/** The sample client existing load scripts send to /token and /ott (the target creates it at start). */
export const TEST_CLIENT: Readonly<ClientCredentials> = Object.freeze({ clientId: 'test-client', clientSecret: 'test-secret-123' })
/** The client the harness seeds its token pools with, so pool tokens are easy to tell apart. */
export const BENCH_CLIENT: Readonly<ClientCredentials> = Object.freeze({ clientId: 'bench-client', clientSecret: 'bench-secret-000' })

/** A resource both sample clients may read (scope read:ltp), so validate takes the success path. */
export const VALIDATE_RESOURCE = '/quotes/ltp'

export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' })

export function credentialsBody(client: ClientCredentials = TEST_CLIENT): string {
  return JSON.stringify({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret })
}

export function validateBody(resource: string = VALIDATE_RESOURCE): string {
  return JSON.stringify({ resource })
}

export function bearerHeaders(jwt: string, withJsonBody: boolean): Record<string, string> {
  return withJsonBody ? { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' } : { authorization: `Bearer ${jwt}` }
}

/**
 * A token the target must reject with 401: well-formed JWT structure, signature that cannot verify.
 * The suffix varies per request so that no cache can answer it from a previous rejection.
 */
export function invalidJwt(n: number): string {
  const header = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'
  const payload = 'eyJjbGllbnRfaWQiOiJub2JvZHkiLCJ0b2tlbl9pZCI6ImZvcmdlZCJ9'
  return `${header}.${payload}.forged-signature-${n.toString(36)}`
}

/** Statuses each request kind expects; any other status is an error. */
export const EXPECTED_STATUS = Object.freeze({
  health: [200],
  token: [200],
  ott: [200],
  validate: [200],
  validateInvalid: [401],
  revoke: [200],
  /**
   * A validate that must be refused (a revoked token, a spent OTT) in a journey: 200 is let
   * through too, so the iteration goes on and its check, not its status, says it was not refused.
   */
  validateRefused: [200, 401]
} as const)

/** The journeys' step names: the harness's per-step figures and the k6 scripts' `name` tags. */
export const JOURNEY_STEPS = Object.freeze({
  token: 'token',
  ott: 'ott',
  validate: 'validate',
  revoke: 'revoke',
  validateRevoked: 'validate-revoked',
  validateSpent: 'validate-spent'
} as const)

/** The journeys' check names, the same in the harness and in k6. */
export const JOURNEY_CHECKS = Object.freeze({
  tokenValid: 'token is valid',
  ottValid: 'OTT is valid',
  revokedRefused: 'revoked token is refused',
  spentRefused: 'spent OTT is refused'
} as const)

/** client-session: validations of the live token in each iteration, before it is revoked. */
export const CLIENT_SESSION_VALIDATIONS = 3

export type MixKind = 'validate' | 'token' | 'ott' | 'revoke'
export type MixWeights = Readonly<Record<MixKind, number>>

/** The default mix: 70% validate, 15% token, 10% ott, 5% revoke. */
export const DEFAULT_MIX: MixWeights = Object.freeze({ validate: 70, token: 15, ott: 10, revoke: 5 })

/**
 * Pick a kind from weights with a uniform number in [0, 1). Pure, so k6 (Math.random) and the
 * harness (a seeded generator) share it.
 */
export function pickWeighted(weights: MixWeights, uniform01: number): MixKind {
  const kinds = Object.keys(weights) as MixKind[]
  let total = 0
  for (const k of kinds) total += Math.max(0, weights[k])
  let x = uniform01 * total
  for (const k of kinds) {
    x -= Math.max(0, weights[k])
    if (x < 0) return k
  }
  // Floating point can leave x at exactly 0 after the last kind; the last positive weight wins.
  for (let i = kinds.length - 1; i >= 0; i--) {
    const k = kinds[i] as MixKind
    if (weights[k] > 0) return k
  }
  return 'validate'
}

export interface DefaultLoad {
  closed: { connections: number; pipelining: number; durationMs: number }
  open: { rateRps: number; connections: number; durationMs: number }
  warmupMs: number
}

/** Defaults sized so that `authbench run` over every scenario takes about two minutes. */
export const DEFAULT_LOAD: Readonly<DefaultLoad> = Object.freeze({
  closed: Object.freeze({ connections: 32, pipelining: 1, durationMs: 4_000 }),
  open: Object.freeze({ rateRps: 2_000, connections: 64, durationMs: 5_000 }),
  warmupMs: 1_000
})
