// Every endpoint's success and error paths through app.inject(), on the default preset (phase2).
import { createSigner, createVerifier } from 'fast-jwt'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BASE,
  CLIENT,
  DISABLED,
  LIMITED,
  SECRET,
  claimsOf,
  closeAllApps,
  expectErrorShape,
  getOtt,
  getToken,
  headerOf,
  makeApp,
  postToken,
  revoke,
  validate,
  validClaims
} from './helpers.ts'

let app: FastifyInstance

beforeAll(async () => {
  app = await makeApp()
})
afterAll(closeAllApps)

describe('GET /', () => {
  it('answers 200 ok with and without the trailing slash', async () => {
    for (const url of [`${BASE}/`, BASE]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      expect(res.body).toBe('ok')
      expect(res.headers['content-type']).toMatch(/^text\/plain/)
    }
  })
})

describe('POST /token', () => {
  it('issues an HS256 JWT with the original claims (JSON body)', async () => {
    const before = Math.floor(Date.now() / 1000)
    const res = await postToken(app)
    expect(res.statusCode).toBe(200)
    const body = res.json() as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type'])
    expect(body.token_type).toBe('Bearer')
    expect(body.expires_in).toBe(3600)
    const jwt = body.access_token as string
    expect(headerOf(jwt).alg).toBe('HS256')
    // The signature is good under the configured secret (and only HS256 is accepted).
    const verified = createVerifier({ key: SECRET, algorithms: ['HS256'] })(jwt) as Record<string, unknown>
    const c = claimsOf(jwt)
    expect(verified).toEqual(c)
    expect(Object.keys(c).sort()).toEqual(['client_id', 'exp', 'iat', 'iss', 'nbf', 'scopes', 'token_id', 'token_type'])
    expect(c.client_id).toBe('test-client')
    expect(c.token_id).toMatch(/^[0-9a-f]{32}$/)
    expect(c.token_type).toBe('N')
    expect(c.scopes).toEqual(['read:ltp', 'read:quote'])
    expect(c.iss).toBe('auth-server')
    expect(c.iat).toBeGreaterThanOrEqual(before)
    expect(c.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
    expect(c.nbf).toBe(c.iat)
    expect(c.exp - c.iat).toBe(body.expires_in)
  })

  it('gives a fresh 128-bit token_id each time', async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) ids.add(claimsOf(await getToken(app)).token_id)
    expect(ids.size).toBe(20)
  })

  it('accepts a form-encoded body (RFC 6749 §4.4)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${BASE}/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', ...CLIENT }).toString()
    })
    expect(res.statusCode, res.body).toBe(200)
    expect(claimsOf(res.json().access_token as string).client_id).toBe('test-client')
  })

  it('refuses a wrong secret, an unknown client and an inactive client with 401 invalid_client', async () => {
    const cases = [
      { ...CLIENT, client_secret: 'wrong' },
      { ...CLIENT, client_secret: `${CLIENT.client_secret}x` },
      { client_id: 'no-such-client', client_secret: 'whatever' },
      { client_id: 'no-such-client', client_secret: CLIENT.client_secret },
      DISABLED,
      // a valid secret of another client
      { client_id: 'test-client', client_secret: LIMITED.client_secret }
    ]
    for (const c of cases) {
      const res = await postToken(app, c)
      const body = expectErrorShape(res, 401, 'invalid_client')
      // Same answer whichever part was wrong: no client-enumeration oracle.
      expect(body.error_description).toBe('Client authentication failed')
    }
  })

  it('refuses an unsupported grant type with 400 unsupported_grant_type', async () => {
    for (const grant of ['password', 'authorization_code', 'CLIENT_CREDENTIALS']) {
      expectErrorShape(await postToken(app, { grant_type: grant }), 400, 'unsupported_grant_type')
    }
  })

  it('narrows scopes to a requested subset and refuses a scope outside the client', async () => {
    const jwt = await getToken(app, { scope: 'read:quote' })
    expect(claimsOf(jwt).scopes).toEqual(['read:quote'])
    expectErrorShape(await validate(app, jwt, '/quotes/ltp'), 403, 'insufficient_scope')
    expect((await validate(app, jwt, '/quotes/full')).statusCode).toBe(200)
    // duplicates collapse, order is kept
    expect(claimsOf(await getToken(app, { scope: ' read:ltp read:ltp  read:quote ' })).scopes).toEqual(['read:ltp', 'read:quote'])
    expectErrorShape(await postToken(app, { scope: 'read:ltp write:orders' }), 400, 'invalid_scope')
  })
})

describe('POST /ott', () => {
  it('issues a one-time token whose expires_in and exp agree (120 s)', async () => {
    const res = await postToken(app, {}, 'ott')
    expect(res.statusCode).toBe(200)
    const body = res.json() as { access_token: string; token_type: string; expires_in: number }
    expect(body.token_type).toBe('Bearer')
    expect(body.expires_in).toBe(120)
    const c = claimsOf(body.access_token)
    expect(c.token_type).toBe('O')
    expect(c.token_id).toMatch(/^[0-9a-f]{32}$/)
    expect(c.exp - c.iat).toBe(120)
  })

  it('follows OTT_TTL_S', async () => {
    const other = await makeApp({ OTT_TTL_S: '30' })
    const res = await postToken(other, {}, 'ott')
    const c = claimsOf(res.json().access_token as string)
    expect(res.json().expires_in).toBe(30)
    expect(c.exp - c.iat).toBe(30)
  })

  it('refuses bad credentials like /token', async () => {
    expectErrorShape(await postToken(app, { client_secret: 'nope' }, 'ott'), 401, 'invalid_client')
    expectErrorShape(await postToken(app, { grant_type: 'implicit' }, 'ott'), 400, 'unsupported_grant_type')
  })
})

describe('POST /validate', () => {
  it('answers 200 with {valid, client_id, expires_at, scopes}', async () => {
    const jwt = await getToken(app)
    const res = await validate(app, jwt)
    expect(res.statusCode, res.body).toBe(200)
    const body = res.json() as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['client_id', 'expires_at', 'scopes', 'valid'])
    expect(body).toEqual({ valid: true, client_id: 'test-client', expires_at: new Date(claimsOf(jwt).exp * 1000).toISOString(), scopes: ['read:ltp', 'read:quote'] })
  })

  it('takes the resource from X-Forwarded-For (the original) when the body has none', async () => {
    const jwt = await getToken(app)
    const noBody = await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${jwt}`, 'x-forwarded-for': '/quotes/ltp' } })
    expect(noBody.statusCode, noBody.body).toBe(200)
    const emptyObject = await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${jwt}`, 'x-forwarded-for': '/quotes/full' }, payload: {} })
    expect(emptyObject.statusCode, emptyObject.body).toBe(200)
    // The header is checked against the endpoints table like a body resource.
    const limited = await getToken(app, LIMITED)
    const denied = await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${limited}`, 'x-forwarded-for': '/quotes/ltp' } })
    expectErrorShape(denied, 403, 'insufficient_scope')
  })

  it('401 for an invalid token', async () => {
    const jwt = await getToken(app)
    const sig = jwt.slice(jwt.lastIndexOf('.') + 1)
    const flipped = `${jwt.slice(0, jwt.lastIndexOf('.') + 1)}${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`
    expectErrorShape(await validate(app, flipped), 401, 'invalid_token')
    expectErrorShape(await validate(app, 'not-a-jwt'), 401, 'invalid_token')
    const res = await validate(app, 'not-a-jwt')
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"')
  })

  it('401 for an expired token signed with the right secret', async () => {
    const now = Math.floor(Date.now() / 1000)
    const expired = createSigner({ key: SECRET, algorithm: 'HS256' })(validClaims({ iat: now - 7200, nbf: now - 7200, exp: now - 60 }))
    const body = expectErrorShape(await validate(app, expired), 401, 'invalid_token')
    expect(body.error_description).toMatch(/expired/i)
  })

  it('a token signed with the right secret and our claims validates (the forged-token tests below are meaningful)', async () => {
    const ours = createSigner({ key: SECRET, algorithm: 'HS256' })(validClaims({ token_id: 'cd'.repeat(16) }))
    expect((await validate(app, ours)).statusCode).toBe(200)
  })

  it('401 for a revoked token', async () => {
    const jwt = await getToken(app)
    expect((await validate(app, jwt)).statusCode).toBe(200)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    const body = expectErrorShape(await validate(app, jwt), 401, 'invalid_token')
    expect(body.error_description).toMatch(/revoked/i)
  })

  it('401 for a one-time token already used', async () => {
    const ott = await getOtt(app)
    expect((await validate(app, ott)).statusCode).toBe(200)
    expectErrorShape(await validate(app, ott), 401, 'invalid_token')
    expectErrorShape(await validate(app, ott, '/quotes/full'), 401, 'invalid_token')
  })

  it('a failed validate (wrong scope) does not consume a one-time token', async () => {
    const ott = await getOtt(app, LIMITED)
    expectErrorShape(await validate(app, ott, '/quotes/ltp'), 403, 'insufficient_scope')
    expect((await validate(app, ott, '/quotes/full')).statusCode).toBe(200)
    expect((await validate(app, ott, '/quotes/full')).statusCode).toBe(401)
  })

  it('403 insufficient_scope when the token lacks the resource scope', async () => {
    const jwt = await getToken(app, LIMITED)
    expectErrorShape(await validate(app, jwt, '/quotes/ltp'), 403, 'insufficient_scope')
    expect((await validate(app, jwt, '/quotes/ohlc')).statusCode).toBe(200)
  })

  it('400 for a resource outside the endpoints table', async () => {
    const jwt = await getToken(app)
    expectErrorShape(await validate(app, jwt, '/not/a/resource'), 400, 'invalid_request')
  })

  it('401 without a Bearer token', async () => {
    const res = await app.inject({ method: 'POST', url: `${BASE}/validate`, payload: { resource: '/quotes/ltp' } })
    expectErrorShape(res, 401, 'invalid_request')
  })
})

describe('POST /revoke', () => {
  it('revokes; a second revoke is 200 too; the token never validates again', async () => {
    const jwt = await getToken(app)
    const first = await revoke(app, jwt)
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ message: 'Token revoked successfully' })
    const second = await revoke(app, jwt)
    expect(second.statusCode).toBe(200)
    expect(second.json()).toEqual({ message: 'Token revoked successfully' })
    for (const resource of ['/quotes/ltp', '/quotes/full']) expectErrorShape(await validate(app, jwt, resource), 401, 'invalid_token')
  })

  it('revokes a one-time token before its use', async () => {
    const ott = await getOtt(app)
    expect((await revoke(app, ott)).statusCode).toBe(200)
    expectErrorShape(await validate(app, ott), 401, 'invalid_token')
  })

  it('revoking one token leaves the others valid', async () => {
    const a = await getToken(app)
    const b = await getToken(app)
    expect((await revoke(app, a)).statusCode).toBe(200)
    expect((await validate(app, b)).statusCode).toBe(200)
  })

  it('401 for a missing, garbage or forged token', async () => {
    expectErrorShape(await app.inject({ method: 'POST', url: `${BASE}/revoke` }), 401)
    expectErrorShape(await revoke(app, 'garbage'), 401, 'invalid_token')
    const forged = createSigner({ key: 'another-secret-another-secret-another-secret', algorithm: 'HS256' })(validClaims())
    expectErrorShape(await revoke(app, forged), 401, 'invalid_token')
  })
})

describe('ops routes', () => {
  it('GET /health/ready answers ready, on both paths', async () => {
    for (const url of ['/health/ready', `${BASE}/health/ready`]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({ status: 'ready', checks: { store: 'ok', cache: 'ok' }, store: 'memory', cache: 'lru' })
    }
  })

  it('GET /health/ready answers 503 when the store is down', async () => {
    const other = await makeApp()
    await other.auth.store.close()
    const res = await other.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toMatchObject({ status: 'unavailable', checks: { store: 'unavailable' } })
  })

  it('GET /metrics is Prometheus text with the authbench counters and process metrics', async () => {
    await getToken(app)
    for (const url of ['/metrics', `${BASE}/metrics`]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/plain/)
      expect(res.body).toMatch(/^authbench_tokens_issued_total\{type="N"\} [1-9]/m)
      expect(res.body).toContain('authbench_validations_total')
      expect(res.body).toContain('authbench_cache_hits_total')
      expect(res.body).toContain('authbench_batch_pending')
      expect(res.body).toContain('authbench_queue_depth')
      expect(res.body).toContain('authbench_http_request_duration_seconds_bucket')
      expect(res.body).toContain('process_cpu_user_seconds_total')
    }
  })

  it('GET /debug/stats shows cache, batch writer, queue and sweeper, and no token or secret', async () => {
    const jwt = await getToken(app)
    const ott = await getOtt(app)
    await validate(app, jwt)
    for (const url of ['/debug/stats', `${BASE}/debug/stats`]) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      const s = res.json() as Record<string, Record<string, unknown> | null>
      expect(s.cache).toMatchObject({ kind: 'lru' })
      expect(s.cache?.hits).toEqual(expect.any(Number))
      expect(s.batchWriter).toMatchObject({ pending: expect.any(Number), maxPending: 50_000 })
      expect(s.queue).toMatchObject({ maxConcurrent: 256, active: expect.any(Number), waiting: 0 })
      expect(s.sweeper).toHaveProperty('lastRun')
      for (const secretish of [SECRET, 'test-secret-123', 'limited-secret-789', jwt, ott, jwt.split('.')[2] ?? 'x', claimsOf(jwt).token_id]) {
        expect(res.body).not.toContain(secretish)
      }
    }
  })

  it('ops routes do not go through the request queue', async () => {
    const before = app.auth.queue?.stats().admitted
    await app.inject({ method: 'GET', url: '/debug/stats' })
    await app.inject({ method: 'GET', url: '/metrics' })
    await app.inject({ method: 'GET', url: `${BASE}/` })
    expect(app.auth.queue?.stats().admitted).toBe(before)
  })
})

describe('error shape', () => {
  it('echoes a client request id and never a stack', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `${BASE}/token`,
      headers: { 'x-request-id': 'req-42' },
      payload: { grant_type: 'client_credentials', ...CLIENT, client_secret: 'x' }
    })
    const body = expectErrorShape(res, 401)
    expect(body.request_id).toBe('req-42')
  })

  it('an internal failure is a 5xx with the same shape and no internal message', async () => {
    const other = await makeApp({ PRESET: 'baseline' })
    // The baseline inserts on the request path: a closed store makes the insert throw.
    await other.auth.store.close()
    const res = await postToken(other)
    expect(res.statusCode).toBeGreaterThanOrEqual(500)
    const body = expectErrorShape(res)
    expect(res.body).not.toContain('store is closed')
    expect(body.error).toMatch(/server_error|temporarily_unavailable/)
  })
})
