// The OAuth API under /auth-server/v1/oauth: health, token, ott, validate, revoke. The paths,
// bodies and response shapes are the contract existing clients and load scripts are written against.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../errors.ts'
import type { TokenRequest, TokenService } from '../services/token-service.ts'
import { MAX_JWT_LENGTH } from '../services/jwt.ts'
import { clusterListening } from '../services/cluster-readiness.ts'

export const BASE_PATH = '/auth-server/v1/oauth'
/** Most tokens one POST /debug/tokens may ask for. */
export const MAX_SEED_BATCH = 5_000

const errorShape = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' }, request_id: { type: 'string' } }
} as const

const tokenBody = {
  type: 'object',
  required: ['grant_type', 'client_id', 'client_secret'],
  properties: {
    grant_type: { type: 'string', minLength: 1, maxLength: 64 },
    client_id: { type: 'string', minLength: 1, maxLength: 256 },
    client_secret: { type: 'string', minLength: 1, maxLength: 512 },
    scope: { type: 'string', maxLength: 1024 }
  }
} as const

const tokenResponse = {
  200: {
    type: 'object',
    properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' } }
  },
  '4xx': errorShape,
  '5xx': errorShape
} as const

const validateBody = {
  type: ['object', 'null'],
  properties: { resource: { type: 'string', minLength: 1, maxLength: 2048 } }
} as const

const validateResponse = {
  200: {
    type: 'object',
    properties: { valid: { type: 'boolean' }, client_id: { type: 'string' }, expires_at: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } }
  },
  '4xx': errorShape,
  '5xx': errorShape
} as const

const revokeResponse = { 200: { type: 'object', properties: { message: { type: 'string' } } }, '4xx': errorShape, '5xx': errorShape } as const

const seedingBody = {
  ...tokenBody,
  required: [...tokenBody.required, 'count'],
  properties: { ...tokenBody.properties, token_type: { type: 'string', enum: ['access', 'ott'] }, count: { type: 'integer', minimum: 1, maximum: MAX_SEED_BATCH } }
} as const

const seedingResponse = {
  200: { type: 'object', properties: { access_tokens: { type: 'array', items: { type: 'string' } }, token_type: { type: 'string' }, expires_in: { type: 'integer' } } },
  '4xx': errorShape,
  '5xx': errorShape
} as const

export interface OauthRouteOptions {
  service: TokenService
  /** Register POST /debug/tokens (off: it answers 404 like any unknown route). */
  debugRoutes: boolean
  /** Runs before each API handler (request queue admission); the health route skips it. */
  apiHooks: {
    onRequest: Array<(req: FastifyRequest, reply: FastifyReply) => Promise<void> | void>
    onResponse: Array<(req: FastifyRequest, reply: FastifyReply, done: () => void) => void>
  }
}

/** `Authorization: Bearer <jwt>` → jwt; a 401 with WWW-Authenticate otherwise. */
export function bearerToken(req: FastifyRequest): string {
  const h = req.headers.authorization
  if (typeof h !== 'string' || h.length === 0) throw new AuthError('MISSING_TOKEN')
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(h)
  if (!m || m[1] === undefined) throw new AuthError('INVALID_TOKEN', { description: 'The Authorization header must be "Bearer <token>"' })
  if (m[1].length > MAX_JWT_LENGTH) throw new AuthError('INVALID_TOKEN')
  return m[1]
}

function resourceOf(req: FastifyRequest<{ Body: { resource?: string } | null }>): string {
  const fromBody = req.body?.resource
  if (typeof fromBody === 'string' && fromBody.length > 0) return fromBody
  // Older clients send the resource in X-Forwarded-For instead of the body: still accepted so
  // that they keep working.
  const xff = req.headers['x-forwarded-for']
  const fromHeader = Array.isArray(xff) ? xff[0] : xff
  if (typeof fromHeader === 'string' && fromHeader.trim().length > 0 && fromHeader.length <= 2048) return fromHeader.trim()
  throw new AuthError('INVALID_REQUEST', { description: 'The resource is required (body "resource" or X-Forwarded-For)' })
}

export async function oauthRoutes(app: FastifyInstance, opts: OauthRouteOptions): Promise<void> {
  registerHealthRoute(app)
  registerApiRoutes(app, opts.service, opts.apiHooks)
  if (opts.debugRoutes) registerSeedingRoute(app, opts.service)
}

/** GET on the base path, with and without the trailing slash: 503 until every cluster worker listens. */
function registerHealthRoute(app: FastifyInstance): void {
  const health = async (_req: FastifyRequest, reply: FastifyReply) =>
    clusterListening() ? reply.type('text/plain; charset=utf-8').send('ok') : reply.code(503).header('retry-after', '1').type('text/plain; charset=utf-8').send('starting')
  app.get(`${BASE_PATH}/`, health)
  app.get(BASE_PATH, health)
}

/** token, ott, validate and revoke: the routes under load, each tagged with its `api` name for the hooks and metrics. */
function registerApiRoutes(app: FastifyInstance, service: TokenService, { onRequest, onResponse }: OauthRouteOptions['apiHooks']): void {
  app.post<{ Body: TokenRequest }>(`${BASE_PATH}/token`, { schema: { body: tokenBody, response: tokenResponse }, onRequest, onResponse, config: { api: 'token' } }, async (req) => {
    return service.issue(req.body, 'N')
  })

  app.post<{ Body: TokenRequest }>(`${BASE_PATH}/ott`, { schema: { body: tokenBody, response: tokenResponse }, onRequest, onResponse, config: { api: 'ott' } }, async (req) => {
    return service.issue(req.body, 'O')
  })

  app.post<{ Body: { resource?: string } | null }>(
    `${BASE_PATH}/validate`,
    { schema: { body: validateBody, response: validateResponse }, onRequest, onResponse, config: { api: 'validate' } },
    async (req) => {
      const jwt = bearerToken(req)
      return service.validate(jwt, resourceOf(req))
    }
  )

  app.post(`${BASE_PATH}/revoke`, { schema: { response: revokeResponse }, onRequest, onResponse, config: { api: 'revoke' } }, async (req) => {
    await service.revoke(bearerToken(req))
    return { message: 'Token revoked successfully' }
  })
}

/**
 * Seeding, outside the public API: many tokens for one client in one call (the harness fills its
 * revoke/ott/validate pools with it; see TokenService.issueMany). Same credentials and checks as
 * /token, a bounded count, and no API hooks: seeding is not load, so neither the queue nor the
 * test-only cost knob nor the API latency histogram sees it.
 */
function registerSeedingRoute(app: FastifyInstance, service: TokenService): void {
  app.post<{ Body: TokenRequest & { token_type?: 'access' | 'ott'; count: number } }>(
    `${BASE_PATH}/debug/tokens`,
    // Load shedding skips its event-loop samples after a seeding call (services/shedding.ts).
    { config: { seeding: true }, schema: { body: seedingBody, response: seedingResponse } },
    async (req) => {
      const { tokens, expiresIn } = await service.issueMany(req.body, req.body.token_type === 'ott' ? 'O' : 'N', req.body.count)
      return { access_tokens: tokens, token_type: 'Bearer', expires_in: expiresIn }
    }
  )
}
