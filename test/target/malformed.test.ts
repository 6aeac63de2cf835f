// A table of malformed requests: each gets a 4xx (never a 5xx) with the error shape, and nothing
// of the input or of the server's internals is echoed back.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'
import type { FastifyInstance, InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BASE, CLIENT, SECRET, closeAllApps, craftJwt, expectErrorShape, getToken, makeApp, validClaims } from './helpers.ts'

let app: FastifyInstance
let goodJwt = ''

beforeAll(async () => {
  app = await makeApp()
  goodJwt = await getToken(app)
})
afterAll(closeAllApps)

const TOKEN = `${BASE}/token`
const VALIDATE = `${BASE}/validate`
const REVOKE = `${BASE}/revoke`
const json = { 'content-type': 'application/json' }
const good = { grant_type: 'client_credentials', ...CLIENT }
const sign = (claims: Record<string, unknown>, key = SECRET) => createSigner({ key, algorithm: 'HS256' })(claims)
const OTHER_SECRET = 'a-completely-different-secret-of-40-bytes!'
const now = () => Math.floor(Date.now() / 1000)

interface Case {
  name: string
  /** Built lazily: some cases need the token issued in beforeAll. */
  req: () => InjectOptions
  /** Expected status when it matters; any 4xx otherwise. */
  status?: number
}

const bearer = (jwt: string, resource: unknown = '/quotes/ltp'): InjectOptions => ({
  method: 'POST',
  url: VALIDATE,
  headers: { authorization: `Bearer ${jwt}` },
  payload: { resource } as Record<string, unknown>
})
const token = (body: unknown, headers: Record<string, string> = json): InjectOptions => ({
  method: 'POST',
  url: TOKEN,
  headers,
  payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
})

const CASES: Case[] = [
  // --- body syntax
  { name: 'token: truncated JSON', req: () => token('{"grant_type":'), status: 400 },
  { name: 'token: not JSON at all', req: () => token('grant_type=client_credentials'), status: 400 },
  { name: 'token: JSON with a trailing comma', req: () => token('{"grant_type":"client_credentials",}'), status: 400 },
  { name: 'token: empty body with a JSON content type', req: () => token(''), status: 400 },
  { name: 'token: JSON null', req: () => token('null'), status: 400 },
  { name: 'token: JSON array', req: () => token('[]'), status: 400 },
  { name: 'token: JSON string', req: () => token('"client_credentials"'), status: 400 },
  { name: 'token: JSON number', req: () => token('42'), status: 400 },
  { name: 'token: invalid UTF-8 bytes', req: () => token(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), status: 400 },
  {
    name: 'token: __proto__ poisoning',
    req: () => token(`{"__proto__":{"admin":true},"grant_type":"client_credentials","client_id":"test-client","client_secret":"test-secret-123"}`),
    status: 400
  },
  {
    name: 'token: constructor.prototype poisoning',
    req: () => token(`{"constructor":{"prototype":{"admin":true}},"grant_type":"client_credentials","client_id":"test-client","client_secret":"test-secret-123"}`),
    status: 400
  },
  // --- fields: missing, wrong types
  { name: 'token: empty object', req: () => token({}), status: 400 },
  { name: 'token: grant_type missing', req: () => token({ client_id: CLIENT.client_id, client_secret: CLIENT.client_secret }), status: 400 },
  { name: 'token: client_id missing', req: () => token({ grant_type: 'client_credentials', client_secret: CLIENT.client_secret }), status: 400 },
  { name: 'token: client_secret missing', req: () => token({ grant_type: 'client_credentials', client_id: CLIENT.client_id }), status: 400 },
  { name: 'token: grant_type a number', req: () => token({ ...good, grant_type: 1 }), status: 400 },
  { name: 'token: grant_type null', req: () => token({ ...good, grant_type: null }), status: 400 },
  { name: 'token: grant_type an array', req: () => token({ ...good, grant_type: ['client_credentials'] }), status: 400 },
  { name: 'token: client_id a number', req: () => token({ ...good, client_id: 123 }), status: 400 },
  { name: 'token: client_id an array', req: () => token({ ...good, client_id: ['test-client'] }), status: 400 },
  { name: 'token: client_id an object', req: () => token({ ...good, client_id: { $ne: '' } }), status: 400 },
  { name: 'token: client_id null', req: () => token({ ...good, client_id: null }), status: 400 },
  { name: 'token: client_id a boolean', req: () => token({ ...good, client_id: true }), status: 400 },
  { name: 'token: client_secret a number', req: () => token({ ...good, client_secret: 123 }), status: 400 },
  { name: 'token: client_secret an object', req: () => token({ ...good, client_secret: { a: 1 } }), status: 400 },
  { name: 'token: client_secret null', req: () => token({ ...good, client_secret: null }), status: 400 },
  { name: 'token: client_secret an array', req: () => token({ ...good, client_secret: [CLIENT.client_secret] }), status: 400 },
  { name: 'token: scope a number', req: () => token({ ...good, scope: 7 }), status: 400 },
  { name: 'token: scope an array', req: () => token({ ...good, scope: ['read:ltp'] }), status: 400 },
  { name: 'token: empty client_id', req: () => token({ ...good, client_id: '' }), status: 400 },
  { name: 'token: empty client_secret', req: () => token({ ...good, client_secret: '' }), status: 400 },
  { name: 'token: client_id longer than its limit', req: () => token({ ...good, client_id: 'c'.repeat(300) }), status: 400 },
  { name: 'token: grant_type longer than its limit', req: () => token({ ...good, grant_type: 'g'.repeat(100) }), status: 400 },
  { name: 'token: deeply nested junk', req: () => token(`{"grant_type":${'['.repeat(500)}${']'.repeat(500)}}`), status: 400 },
  // --- body size and content type
  { name: 'token: body over the body limit', req: () => token({ ...good, pad: 'x'.repeat(8_000) }), status: 413 },
  { name: 'ott: body over the body limit', req: () => ({ ...token({ ...good, pad: 'x'.repeat(100_000) }), url: `${BASE}/ott` }), status: 413 },
  {
    name: 'token: form body over the body limit',
    req: () => token(`grant_type=client_credentials&pad=${'x'.repeat(8_000)}`, { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 413
  },
  // Fastify parses text/plain to a string, which the body schema refuses (400), where other types get 415.
  { name: 'token: text/plain content type', req: () => token(JSON.stringify(good), { 'content-type': 'text/plain' }), status: 400 },
  { name: 'token: application/xml content type', req: () => token('<grant_type>client_credentials</grant_type>', { 'content-type': 'application/xml' }), status: 415 },
  { name: 'token: multipart content type', req: () => token('--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }), status: 415 },
  { name: 'token: form body missing fields', req: () => token('grant_type=client_credentials', { 'content-type': 'application/x-www-form-urlencoded' }), status: 400 },
  { name: 'token: no body, no content type', req: () => ({ method: 'POST', url: TOKEN }), status: 400 },
  // --- Authorization header
  { name: 'validate: no Authorization header', req: () => ({ method: 'POST', url: VALIDATE, payload: { resource: '/quotes/ltp' } }), status: 401 },
  { name: 'validate: empty Authorization header', req: () => ({ ...bearer(''), headers: { authorization: '' } }), status: 401 },
  { name: 'validate: "Bearer" without a token', req: () => ({ ...bearer(''), headers: { authorization: 'Bearer' } }), status: 401 },
  { name: 'validate: "Bearer " with an empty token', req: () => ({ ...bearer(''), headers: { authorization: 'Bearer   ' } }), status: 401 },
  {
    name: 'validate: Basic scheme',
    req: () => ({ ...bearer(''), headers: { authorization: `Basic ${Buffer.from('test-client:test-secret-123').toString('base64')}` } }),
    status: 401
  },
  { name: 'validate: the token without a scheme', req: () => ({ ...bearer(''), headers: { authorization: goodJwt } }), status: 401 },
  { name: 'validate: two tokens in the header', req: () => ({ ...bearer(''), headers: { authorization: `Bearer ${goodJwt} ${goodJwt}` } }), status: 401 },
  { name: 'validate: garbage token', req: () => bearer('garbage'), status: 401 },
  { name: 'validate: three empty segments', req: () => bearer('..'), status: 401 },
  { name: 'validate: base64 junk in three segments', req: () => bearer('eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl'), status: 401 },
  { name: 'validate: alg none, unsigned', req: () => bearer(craftJwt({ alg: 'none', typ: 'JWT' }, validClaims(), null)), status: 401 },
  { name: 'validate: alg None (case), unsigned', req: () => bearer(craftJwt({ alg: 'None', typ: 'JWT' }, validClaims(), null)), status: 401 },
  { name: 'validate: alg none with our signature kept', req: () => bearer(`${craftJwt({ alg: 'none', typ: 'JWT' }, validClaims(), null)}${goodJwt.split('.')[2]}`), status: 401 },
  { name: 'validate: forged with another secret', req: () => bearer(sign(validClaims(), OTHER_SECRET)), status: 401 },
  { name: 'validate: HS512 with the right secret', req: () => bearer(craftJwt({ alg: 'HS512', typ: 'JWT' }, validClaims(), SECRET, 'sha512')), status: 401 },
  { name: 'validate: header says HS256 but HMAC-SHA512 signature', req: () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, validClaims(), SECRET, 'sha512')), status: 401 },
  { name: 'validate: RS256 header with an HMAC signature', req: () => bearer(craftJwt({ alg: 'RS256', typ: 'JWT' }, validClaims(), SECRET)), status: 401 },
  {
    name: 'validate: our payload, signature swapped from another token',
    req: () => bearer(`${sign(validClaims()).split('.').slice(0, 2).join('.')}.${goodJwt.split('.')[2]}`),
    status: 401
  },
  { name: 'validate: right signature, token_id not 32 hex', req: () => bearer(sign(validClaims({ token_id: 'xyz' }))), status: 401 },
  { name: 'validate: right signature, token_id missing', req: () => bearer(sign(validClaims({ token_id: undefined }))), status: 401 },
  { name: 'validate: right signature, token_type X', req: () => bearer(sign(validClaims({ token_type: 'X' }))), status: 401 },
  { name: 'validate: right signature, scopes a string', req: () => bearer(sign(validClaims({ scopes: 'read:ltp' }))), status: 401 },
  { name: 'validate: right signature, scopes with a number', req: () => bearer(sign(validClaims({ scopes: ['read:ltp', 1] }))), status: 401 },
  { name: 'validate: right signature, client_id a number', req: () => bearer(sign(validClaims({ client_id: 7 }))), status: 401 },
  { name: 'validate: right signature, exp a string', req: () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, validClaims({ exp: 'tomorrow' }), SECRET)), status: 401 },
  { name: 'validate: right signature, wrong issuer', req: () => bearer(sign(validClaims({ iss: 'someone-else' }))), status: 401 },
  { name: 'validate: right signature, not yet valid (nbf)', req: () => bearer(sign(validClaims({ nbf: now() + 3600 }))), status: 401 },
  {
    name: 'validate: right signature, payload an array',
    req: () => bearer(craftJwt({ alg: 'HS256', typ: 'JWT' }, [1, 2] as unknown as Record<string, unknown>, SECRET)),
    status: 401
  },
  { name: 'validate: truncated token', req: () => bearer(goodJwt.slice(0, goodJwt.length - 10)), status: 401 },
  { name: 'validate: token cut before the signature', req: () => bearer(goodJwt.slice(0, goodJwt.lastIndexOf('.'))), status: 401 },
  { name: 'validate: very long token', req: () => bearer(`${goodJwt}${'A'.repeat(10_000)}`), status: 401 },
  { name: 'validate: huge Authorization header value', req: () => ({ ...bearer(''), headers: { authorization: `Bearer ${'x'.repeat(60_000)}` } }), status: 401 },
  // --- validate body
  { name: 'validate: resource a number', req: () => bearer(goodJwt, 42), status: 400 },
  { name: 'validate: resource an array', req: () => bearer(goodJwt, ['/quotes/ltp']), status: 400 },
  { name: 'validate: resource an object', req: () => bearer(goodJwt, { path: '/quotes/ltp' }), status: 400 },
  { name: 'validate: resource null', req: () => bearer(goodJwt, null), status: 400 },
  { name: 'validate: resource empty', req: () => bearer(goodJwt, ''), status: 400 },
  { name: 'validate: resource too long', req: () => bearer(goodJwt, `/quotes/${'l'.repeat(3_000)}`), status: 400 },
  { name: 'validate: resource not in the endpoints table', req: () => bearer(goodJwt, '/admin'), status: 400 },
  { name: 'validate: no resource anywhere', req: () => ({ method: 'POST', url: VALIDATE, headers: { authorization: `Bearer ${goodJwt}` } }), status: 400 },
  {
    name: 'validate: X-Forwarded-For too long',
    req: () => ({ method: 'POST', url: VALIDATE, headers: { authorization: `Bearer ${goodJwt}`, 'x-forwarded-for': `/quotes/${'l'.repeat(3_000)}` } }),
    status: 400
  },
  {
    name: 'validate: malformed JSON body',
    req: () => ({ ...bearer(goodJwt), headers: { authorization: `Bearer ${goodJwt}`, 'content-type': 'application/json' }, payload: '{"resource":' }),
    status: 400
  },
  {
    name: 'validate: JSON array body',
    req: () => ({ ...bearer(goodJwt), headers: { authorization: `Bearer ${goodJwt}`, 'content-type': 'application/json' }, payload: '["/quotes/ltp"]' }),
    status: 400
  },
  { name: 'validate: oversized body', req: () => bearer(goodJwt, `/quotes/${'l'.repeat(10_000)}`), status: 413 },
  // --- revoke
  { name: 'revoke: no Authorization header', req: () => ({ method: 'POST', url: REVOKE }), status: 401 },
  { name: 'revoke: garbage token', req: () => ({ method: 'POST', url: REVOKE, headers: { authorization: 'Bearer garbage' } }), status: 401 },
  {
    name: 'revoke: alg none token',
    req: () => ({ method: 'POST', url: REVOKE, headers: { authorization: `Bearer ${craftJwt({ alg: 'none' }, validClaims(), null)}` } }),
    status: 401
  },
  {
    name: 'revoke: forged with another secret',
    req: () => ({ method: 'POST', url: REVOKE, headers: { authorization: `Bearer ${sign(validClaims(), OTHER_SECRET)}` } }),
    status: 401
  },
  {
    name: 'revoke: malformed JSON body',
    req: () => ({ method: 'POST', url: REVOKE, headers: { authorization: `Bearer ${goodJwt}`, 'content-type': 'application/json' }, payload: '{' }),
    status: 400
  },
  // --- routing
  { name: 'unknown route', req: () => ({ method: 'GET', url: `${BASE}/nope` }), status: 404 },
  { name: 'unknown route outside the base path', req: () => ({ method: 'POST', url: '/token', payload: good }), status: 404 },
  { name: 'wrong method: GET /token', req: () => ({ method: 'GET', url: TOKEN }) },
  { name: 'wrong method: DELETE /validate', req: () => ({ method: 'DELETE', url: VALIDATE }) },
  { name: 'wrong method: PUT /revoke', req: () => ({ method: 'PUT', url: REVOKE, payload: {} }) },
  { name: 'wrong method: POST /', req: () => ({ method: 'POST', url: `${BASE}/`, payload: {} }) },
  { name: 'path traversal', req: () => ({ method: 'POST', url: `${BASE}/../../etc/passwd`, payload: good }) },
  { name: 'very long unknown path', req: () => ({ method: 'GET', url: `${BASE}/${'p'.repeat(5_000)}` }), status: 404 }
]

describe('malformed requests', () => {
  it('the table has at least 30 kinds', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30)
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length)
  })

  it.each(CASES.map((c) => [c.name, c] as const))('%s → 4xx with the error shape', async (_name, c) => {
    const res = await app.inject(c.req())
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400)
    expect(res.statusCode, res.body).toBeLessThan(500)
    if (c.status !== undefined) expect(res.statusCode, res.body).toBe(c.status)
    const body = expectErrorShape(res)
    expect(body.error).toMatch(/^(invalid_request|invalid_client|invalid_token|unsupported_grant_type|invalid_scope)$/)
    // Nothing of the secret or of long inputs comes back.
    expect(res.body).not.toContain(SECRET)
    expect(res.body.length).toBeLessThan(600)
  })

  it('the service still works after the whole table', async () => {
    expect((await app.inject(bearer(goodJwt))).statusCode).toBe(200)
    expect(app.auth.queue?.stats().active).toBe(0)
  })
})

describe('malformed requests on a real socket', () => {
  it('an oversized header gets a 431 from the HTTP parser, and the server keeps serving', async () => {
    const real = await makeApp()
    await real.listen({ port: 0, host: '127.0.0.1' })
    const { port } = real.server.address() as AddressInfo
    const status = (headers: Record<string, string>): Promise<number | string> =>
      new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'GET', path: `${BASE}/`, headers, agent: false }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        // The parser may answer 431 and close while the client is still writing: a reset then.
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
        req.end()
      })
    // Node's default header limit is 16 KiB.
    expect(await status({ 'x-huge': 'h'.repeat(20 * 1024) })).toBe(431)
    expect(['ECONNRESET', 'EPIPE', 431]).toContain(await status({ 'x-huge': 'h'.repeat(256 * 1024) }))
    expect(await status({})).toBe(200)
  })
})
