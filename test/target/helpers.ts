// Shared helpers for the target's tests: build an app on the in-memory store with a known secret,
// get tokens through the real routes, and check the error shape every 4xx/5xx must have.
import { createHmac } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { buildApp } from '../../target/app.ts'
import { loadConfig } from '../../target/config.ts'
import type { Store, TokenCache, TokenRecord, TokenStateRecord } from '../../target/domain.ts'
import { MemoryStore } from '../../target/stores/memory.ts'

/** 40 bytes, distinctive so that a leak of it into any response is easy to spot. */
export const SECRET = 'authbench-test-secret-0123456789abcdefghi'
export const BASE = '/auth-server/v1/oauth'

export const CLIENT = { client_id: 'test-client', client_secret: 'test-secret-123' } as const
export const LIMITED = { client_id: 'limited-client', client_secret: 'limited-secret-789' } as const
export const DISABLED = { client_id: 'disabled-client', client_secret: 'disabled-secret-111' } as const

const open = new Set<FastifyInstance>()

export interface MakeAppOptions {
  store?: Store
  cache?: TokenCache
}

/** Build a ready app: `loadConfig({JWT_SECRET, LOG_LEVEL: silent, ...env})`, no logger. */
export async function makeApp(env: Record<string, string> = {}, opts: MakeAppOptions = {}): Promise<FastifyInstance> {
  // Shedding off unless a test asks for it: inject() runs a test's whole burst of requests in one
  // event-loop turn, which is exactly what the live shedding check refuses, and these tests are
  // about semantics, not admission control (test/target/shedding.test.ts sets SHED_* itself).
  const config = loadConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'silent', SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...env })
  const app = await buildApp({ config, logger: false, ...(opts.store ? { store: opts.store } : {}), ...(opts.cache ? { cache: opts.cache } : {}) })
  open.add(app)
  await app.ready()
  return app
}

/** Close an app built by makeApp (idempotent). */
export async function closeApp(app: FastifyInstance): Promise<void> {
  if (!open.delete(app)) return
  await app.close()
}

/** For afterEach: close every app a test left open. */
export async function closeAllApps(): Promise<void> {
  const apps = [...open]
  open.clear()
  await Promise.all(apps.map((a) => a.close().catch(() => undefined)))
}

export function postToken(app: FastifyInstance, body: Record<string, unknown> = {}, path: 'token' | 'ott' = 'token'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `${BASE}/${path}`, payload: { grant_type: 'client_credentials', ...CLIENT, ...body } })
}

/** Issue a token (or an OTT) and return the JWT; fails the test on a non-200. */
export async function getToken(app: FastifyInstance, body: Record<string, unknown> = {}, path: 'token' | 'ott' = 'token'): Promise<string> {
  const res = await postToken(app, body, path)
  expect(res.statusCode, res.body).toBe(200)
  return (res.json() as { access_token: string }).access_token
}

export const getOtt = (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<string> => getToken(app, body, 'ott')

export function validate(app: FastifyInstance, jwt: string, resource = '/quotes/ltp'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `${BASE}/validate`, headers: { authorization: `Bearer ${jwt}` }, payload: { resource } })
}

export function revoke(app: FastifyInstance, jwt: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `${BASE}/revoke`, headers: { authorization: `Bearer ${jwt}` } })
}

export interface Claims {
  client_id: string
  token_id: string
  token_type: string
  scopes: string[]
  exp: number
  iat: number
  nbf: number
  iss: string
}

/** Decode a JWT's payload without verifying it. */
export function claimsOf(jwt: string): Claims {
  const part = jwt.split('.')[1]
  if (part === undefined) throw new Error(`not a JWT: ${jwt.slice(0, 20)}`)
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Claims
}

export function headerOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Hand-built JWT: any header and payload, HMAC-signed with `key` (or unsigned when key is null). */
export function craftJwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: string | null, hmac: 'sha256' | 'sha512' = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`
  if (key === null) return `${input}.`
  return `${input}.${createHmac(hmac, key).update(input).digest('base64url')}`
}

/** The claims this service issues, valid now, overridable. */
export function validClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000)
  return {
    client_id: 'test-client',
    token_id: 'ab'.repeat(16),
    token_type: 'N',
    scopes: ['read:ltp', 'read:quote'],
    exp: iat + 3600,
    iat,
    nbf: iat,
    iss: 'auth-server',
    ...overrides
  }
}

/** Every error body is exactly {error, error_description, request_id}: strings, no stack. */
export function expectErrorShape(res: LightMyRequestResponse, status?: number, error?: string): Record<string, string> {
  if (status !== undefined) expect(res.statusCode, res.body).toBe(status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const body = res.json() as Record<string, unknown>
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description', 'request_id'])
  expect(typeof body.error).toBe('string')
  expect(typeof body.error_description).toBe('string')
  expect(typeof body.request_id).toBe('string')
  expect(body.request_id).not.toBe('')
  expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+|node_modules|stack/i)
  if (error !== undefined) expect(body.error).toBe(error)
  return body as Record<string, string>
}

export { sleep, waitFor } from '../helpers/time.ts'
import { sleep } from '../helpers/time.ts'

/**
 * A MemoryStore that records what reached it and can be made to fail or stall, per operation.
 * Seeding (clients, endpoints) is never affected.
 */
export class ControlledStore extends MemoryStore {
  readonly inserted = new Set<string>()
  readonly revoked = new Set<string>()
  readonly used = new Set<string>()
  insertCalls = 0
  /** Fail this many insertTokens calls, then succeed. Infinity: fail until changed. */
  insertFailures = 0
  /** Delay before insertTokens / revokeTokens / markOttUsed do anything. */
  insertDelayMs = 0
  revokeDelayMs = 0
  markUsedDelayMs = 0
  /**
   * findToken / findTokenState read the row at once and answers only after this delay: like a database read
   * whose snapshot predates a concurrent write but whose reply arrives after it.
   */
  findReplyDelayMs = 0
  /** Never resolve insertTokens (until released). */
  stallInserts = false
  private releaseStalled: Array<() => void> = []

  override async insertTokens(records: readonly TokenRecord[]): Promise<void> {
    this.insertCalls++
    if (this.stallInserts) await new Promise<void>((r) => this.releaseStalled.push(r))
    if (this.insertDelayMs > 0) await sleep(this.insertDelayMs)
    if (this.insertFailures > 0) {
      this.insertFailures--
      throw new Error('simulated insert failure')
    }
    await super.insertTokens(records)
    for (const r of records) this.inserted.add(r.tokenId)
  }

  releaseInserts(): void {
    this.stallInserts = false
    for (const r of this.releaseStalled.splice(0)) r()
  }

  override async revokeTokens(records: readonly TokenRecord[], atMs: number): Promise<number> {
    if (this.revokeDelayMs > 0) await sleep(this.revokeDelayMs)
    const n = await super.revokeTokens(records, atMs)
    for (const r of records) this.revoked.add(r.tokenId)
    return n
  }

  override async markOttUsed(records: readonly TokenRecord[], atMs: number): Promise<void> {
    if (this.markUsedDelayMs > 0) await sleep(this.markUsedDelayMs)
    await super.markOttUsed(records, atMs)
    for (const r of records) this.used.add(r.tokenId)
  }

  override async consumeOtt(record: TokenRecord, atMs: number): Promise<boolean> {
    const won = await super.consumeOtt(record, atMs)
    if (won) this.used.add(record.tokenId)
    return won
  }

  override async findToken(tokenId: string): Promise<TokenRecord | null> {
    const snapshot = await super.findToken(tokenId)
    if (this.findReplyDelayMs > 0) await sleep(this.findReplyDelayMs)
    return snapshot
  }

  override async findTokenState(tokenId: string): Promise<TokenStateRecord | null> {
    const snapshot = await super.findTokenState(tokenId)
    if (this.findReplyDelayMs > 0) await sleep(this.findReplyDelayMs)
    return snapshot
  }
}
