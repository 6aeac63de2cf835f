// One registry of the target's coded errors. A client sees only `{error, error_description,
// request_id}` with an OAuth error code; the stable `code` is for logs, metrics and tests.

export interface ErrorDef {
  /** Stable code, never renamed: tests and dashboards key on it. */
  code: string
  /** OAuth 2.0 error name sent to the client (RFC 6749 §5.2, RFC 6750 §3.1). */
  oauthError: string
  statusCode: number
  description: string
}

const def = (code: string, oauthError: string, statusCode: number, description: string): ErrorDef => Object.freeze({ code, oauthError, statusCode, description })

export const ERRORS = Object.freeze({
  INVALID_REQUEST: def('AUTH_ERR_INVALID_REQUEST', 'invalid_request', 400, 'The request is missing a parameter or is malformed'),
  INVALID_JSON: def('AUTH_ERR_INVALID_JSON', 'invalid_request', 400, 'The request body is not valid JSON'),
  BODY_TOO_LARGE: def('AUTH_ERR_BODY_TOO_LARGE', 'invalid_request', 413, 'The request body is too large'),
  UNSUPPORTED_MEDIA_TYPE: def('AUTH_ERR_UNSUPPORTED_MEDIA_TYPE', 'invalid_request', 415, 'The request body must be application/json'),
  UNSUPPORTED_GRANT_TYPE: def('AUTH_ERR_UNSUPPORTED_GRANT_TYPE', 'unsupported_grant_type', 400, 'Only client_credentials is supported'),
  INVALID_CLIENT: def('AUTH_ERR_INVALID_CLIENT', 'invalid_client', 401, 'Client authentication failed'),
  INVALID_SCOPE: def('AUTH_ERR_INVALID_SCOPE', 'invalid_scope', 400, 'The requested scope is not allowed for this client'),
  MISSING_TOKEN: def('AUTH_ERR_MISSING_TOKEN', 'invalid_request', 401, 'A Bearer token is required'),
  INVALID_TOKEN: def('AUTH_ERR_INVALID_TOKEN', 'invalid_token', 401, 'The token is invalid'),
  EXPIRED_TOKEN: def('AUTH_ERR_EXPIRED_TOKEN', 'invalid_token', 401, 'The token has expired'),
  REVOKED_TOKEN: def('AUTH_ERR_REVOKED_TOKEN', 'invalid_token', 401, 'The token has been revoked'),
  OTT_USED: def('AUTH_ERR_OTT_USED', 'invalid_token', 401, 'The one-time token has already been used or was revoked'),
  UNKNOWN_RESOURCE: def('AUTH_ERR_UNKNOWN_RESOURCE', 'invalid_request', 400, 'The resource is not a known endpoint'),
  INSUFFICIENT_SCOPE: def('AUTH_ERR_INSUFFICIENT_SCOPE', 'insufficient_scope', 403, 'The token lacks the scope the resource requires'),
  NOT_FOUND: def('AUTH_ERR_NOT_FOUND', 'invalid_request', 404, 'No such route'),
  REQUEST_TIMEOUT: def('AUTH_ERR_REQUEST_TIMEOUT', 'invalid_request', 408, 'The request was not received in time'),
  HEADERS_TOO_LARGE: def('AUTH_ERR_HEADERS_TOO_LARGE', 'invalid_request', 431, 'The request headers are too large'),
  MALFORMED_HTTP: def('AUTH_ERR_MALFORMED_HTTP', 'invalid_request', 400, 'The request is not valid HTTP'),
  METHOD_NOT_ALLOWED: def('AUTH_ERR_METHOD_NOT_ALLOWED', 'invalid_request', 405, 'Method not allowed'),
  QUEUE_FULL: def('AUTH_ERR_QUEUE_FULL', 'temporarily_unavailable', 429, 'The server is busy; retry later'),
  QUEUE_TIMEOUT: def('AUTH_ERR_QUEUE_TIMEOUT', 'temporarily_unavailable', 429, 'The request waited too long in the queue; retry later'),
  OVERLOADED: def('AUTH_ERR_OVERLOADED', 'temporarily_unavailable', 503, 'The server is overloaded; retry later'),
  BATCH_BACKPRESSURE: def('AUTH_ERR_BATCH_BACKPRESSURE', 'temporarily_unavailable', 503, 'Too many tokens are waiting to be persisted; retry later'),
  REVOCATION_BACKPRESSURE: def('AUTH_ERR_REVOCATION_BACKPRESSURE', 'temporarily_unavailable', 503, 'Too many revocations are waiting to be persisted; retry later'),
  DEPENDENCY_UNAVAILABLE: def('AUTH_ERR_DEPENDENCY_UNAVAILABLE', 'temporarily_unavailable', 503, 'A dependency is unavailable; retry later'),
  SHUTTING_DOWN: def('AUTH_ERR_SHUTTING_DOWN', 'temporarily_unavailable', 503, 'The server is shutting down'),
  INTERNAL: def('AUTH_ERR_INTERNAL', 'server_error', 500, 'Internal server error')
} satisfies Record<string, ErrorDef>)

export type ErrorName = keyof typeof ERRORS

/** An error that maps to one registry entry. `retryAfterS` sets the Retry-After header. */
export class AuthError extends Error {
  readonly code: string
  readonly oauthError: string
  readonly statusCode: number
  readonly retryAfterS: number | undefined

  constructor(name: ErrorName, options: { description?: string; retryAfterS?: number; cause?: unknown } = {}) {
    const d = ERRORS[name]
    super(options.description ?? d.description, { cause: options.cause })
    this.name = 'AuthError'
    this.code = d.code
    this.oauthError = d.oauthError
    this.statusCode = d.statusCode
    this.retryAfterS = options.retryAfterS
  }
}

/** A configuration value that stops start-up. Names the environment variable at fault. */
export class ConfigError extends Error {
  readonly code = 'AUTH_ERR_CONFIG'
  readonly variable: string
  constructor(variable: string, message: string) {
    super(`${variable} ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

/** A store or cache operation failed (driver error, timeout). Internal: never shown to a client. */
export class DependencyError extends Error {
  readonly code: string
  constructor(code: 'AUTH_ERR_STORE' | 'AUTH_ERR_CACHE', message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'DependencyError'
    this.code = code
  }
}

/** A schema migration cannot be applied (duplicate version, edited after applying, lock timeout, SQL failure). Stops start-up. */
export class MigrationError extends Error {
  readonly code = 'AUTH_ERR_MIGRATION'
  constructor(message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'MigrationError'
  }
}
