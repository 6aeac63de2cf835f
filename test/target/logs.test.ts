// Secrets and tokens never reach the logs, at any level: every flow (issue, validate, revoke,
// OTT, seeding, bad credentials, tampered tokens, malformed bodies, a failing store that makes
// flushes retry and requests answer 503) is run with the logger at trace, and the captured lines
// are searched for the JWT secret, the client secrets, every token issued and its signature.
import { Writable } from 'node:stream'
import { afterEach, expect, it } from 'vitest'
import { LOG_REDACT, buildApp } from '../../target/app.ts'
import { loadConfig } from '../../target/config.ts'
import { BASE, CLIENT, ControlledStore, SECRET, claimsOf, craftJwt, validClaims, waitFor } from './helpers.ts'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

it('no secret, client secret or token appears in the logs at trace level', async () => {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'))
      cb()
    }
  })
  const store = new ControlledStore()
  const config = loadConfig({
    JWT_SECRET: SECRET,
    LOG_LEVEL: 'trace',
    SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
    SHED_MAX_EVENT_LOOP_UTILIZATION: '0',
    BATCH_FLUSH_INTERVAL_MS: '10',
    BATCH_RETRY_BASE_MS: '5',
    BATCH_RETRY_MAX_MS: '10'
  })
  const app = await buildApp({ config, store, logger: { level: 'trace', stream, redact: LOG_REDACT } })
  close = () => app.close()
  await app.ready()

  const tokens: string[] = []
  const issue = async (path: 'token' | 'ott'): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: `${BASE}/${path}`, payload: { grant_type: 'client_credentials', ...CLIENT } })
    expect(res.statusCode).toBe(200)
    const jwt = (res.json() as { access_token: string }).access_token
    tokens.push(jwt)
    return jwt
  }
  const auth = (jwt: string) => ({ authorization: `Bearer ${jwt}` })
  const jwt = await issue('token')
  const ott = await issue('ott')
  expect((await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: auth(jwt), payload: { resource: '/quotes/ltp' } })).statusCode).toBe(200)
  expect((await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: auth(ott), payload: { resource: '/quotes/ltp' } })).statusCode).toBe(200)
  expect((await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: auth(ott), payload: { resource: '/quotes/ltp' } })).statusCode).toBe(401)
  expect((await app.inject({ method: 'POST', url: `${BASE}/revoke`, headers: auth(jwt) })).statusCode).toBe(200)
  expect((await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: auth(jwt), payload: { resource: '/quotes/ltp' } })).statusCode).toBe(401)
  const seeded = await app.inject({ method: 'POST', url: `${BASE}/debug/tokens`, payload: { grant_type: 'client_credentials', ...CLIENT, count: 5 } })
  tokens.push(...(seeded.json() as { access_tokens: string[] }).access_tokens)
  const forged = craftJwt({ alg: 'HS256', typ: 'JWT' }, validClaims(), 'not-our-secret-but-long-enough-0123456789')
  const tampered = `${jwt.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claimsOf(jwt), scopes: ['write:orders'] })).toString('base64url')}.${jwt.split('.')[2]}`
  for (const bad of [forged, tampered, 'garbage', `${jwt}x`]) {
    const res = await app.inject({ method: 'POST', url: `${BASE}/validate`, headers: auth(bad), payload: { resource: '/quotes/ltp' } })
    expect(res.statusCode).toBe(401)
  }
  const wrong = await app.inject({
    method: 'POST',
    url: `${BASE}/token`,
    payload: { grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'wrong-secret-zz9' }
  })
  expect(wrong.statusCode).toBe(401)
  await app.inject({ method: 'POST', url: `${BASE}/token`, headers: { 'content-type': 'application/json' }, payload: `{"client_secret":"${CLIENT.client_secret}",` })
  // A failing store: flushes retry (logged at warn) and the revoke of a token answers 503 (logged at error).
  store.insertFailures = 3
  await issue('token')
  const failingRevoke = store.revokeTokens.bind(store)
  store.revokeTokens = async () => {
    throw Object.assign(new Error('store down'), { code: 'AUTH_ERR_STORE' })
  }
  const fiveHundred = await app.inject({ method: 'POST', url: `${BASE}/revoke`, headers: auth(tokens.at(-1) as string) })
  expect(fiveHundred.statusCode).toBeGreaterThanOrEqual(500)
  store.revokeTokens = failingRevoke
  // The writer has retried past the failures and persisted the token (each failed flush logged).
  expect(await waitFor(() => store.insertFailures === 0 && app.auth.writer?.stats().pending === 0, 5_000)).toBe(true)
  await app.close()
  close = undefined

  const log = lines.join('')
  // The flows above did log (so the search below searched something): the flush retries and the 5xx.
  expect(log).toMatch(/token batch flush failed/)
  expect(log).toMatch(/request failed/)
  expect(log).toMatch(/"level":20.*request rejected/)
  expect(log).toMatch(/incoming request/)
  for (const secret of [SECRET, CLIENT.client_secret, 'wrong-secret-zz9', 'not-our-secret-but-long-enough']) expect(log).not.toContain(secret)
  expect(tokens.length).toBeGreaterThanOrEqual(8)
  for (const t of [...tokens, forged, tampered]) {
    expect(log).not.toContain(t)
    expect(log).not.toContain(t.split('.')[2])
  }
  expect(log).not.toMatch(/bearer\s+ey/i)
})
