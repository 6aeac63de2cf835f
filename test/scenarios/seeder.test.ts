// issueTokens: batches through the target's seeding route when it has one, one /token request at a
// time when it has not, and a clear SetupFailedError otherwise.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { BASE_PATH } from '../../scenarios/catalog.ts'
import { SetupFailedError } from '../../scenarios/errors.ts'
import { BULK_SEED_PATH, issueTokens } from '../../scenarios/seeder.ts'
import { closeAllApps, makeApp } from '../target/helpers.ts'

afterEach(closeAllApps)

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections()
          s.close(() => r())
        })
    )
  )
})

/** The real target on a loopback port, counting requests by path. */
async function listening(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; url: string; hits: Map<string, number> }> {
  const app = await makeApp(env)
  const hits = new Map<string, number>()
  // The app is ready (no more hooks): listen on the raw server beside fastify's own handler.
  app.server.on('request', (req: { url?: string }) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1)
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  return { app, url: `http://127.0.0.1:${port}`, hits }
}

/** A stand-in for another service: no seeding route, /token answers with made-up tokens. */
async function legacyTarget(tokenStatus = 200): Promise<{ url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>()
  let n = 0
  const server = createServer((req, res) => {
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1)
    req.resume()
    req.on('end', () => {
      if (req.url === `${BASE_PATH}/token` && tokenStatus === 200) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `legacy-${n++}` }))
      } else {
        res.writeHead(req.url === `${BASE_PATH}/token` ? tokenStatus : 404, { 'content-type': 'application/json' }).end('{"error":"not_found"}')
      }
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

describe('issueTokens', () => {
  it('seeds through the batch route: 4,500 distinct live tokens in 3 calls, no /token request', async () => {
    const { app, url, hits } = await listening()
    const tokens = await issueTokens({ url, kind: 'token', count: 4_500, concurrency: 8 })
    expect(tokens).toHaveLength(4_500)
    expect(new Set(tokens).size).toBe(4_500)
    expect(hits.get(`${BASE_PATH}/token`) ?? 0).toBe(0)
    expect(hits.get(BULK_SEED_PATH)).toBe(3)
    const res = await app.inject({ method: 'POST', url: `${BASE_PATH}/validate`, headers: { authorization: `Bearer ${tokens[4_499]}` }, payload: { resource: '/quotes/ltp' } })
    expect(res.statusCode).toBe(200)
  })

  it('seeds one-time tokens through the batch route too', async () => {
    const { app, url } = await listening()
    const [ott] = await issueTokens({ url, kind: 'ott', count: 2, concurrency: 2 })
    const validate = () => app.inject({ method: 'POST', url: `${BASE_PATH}/validate`, headers: { authorization: `Bearer ${ott}` }, payload: { resource: '/quotes/ltp' } })
    expect((await validate()).statusCode).toBe(200)
    expect((await validate()).statusCode).toBe(401)
  })

  it('falls back to one /token request per token when the target has no seeding route', async () => {
    const { url, hits } = await legacyTarget()
    const tokens = await issueTokens({ url, kind: 'token', count: 30, concurrency: 4 })
    expect(tokens).toHaveLength(30)
    expect(new Set(tokens).size).toBe(30)
    expect(hits.get(BULK_SEED_PATH)).toBeGreaterThanOrEqual(1)
    expect(hits.get(`${BASE_PATH}/token`)).toBe(30)
  })

  it('with bulk: false, never asks the seeding route', async () => {
    const { url, hits } = await listening()
    const tokens = await issueTokens({ url, kind: 'token', count: 5, concurrency: 2, bulk: false })
    expect(tokens).toHaveLength(5)
    expect(hits.get(BULK_SEED_PATH) ?? 0).toBe(0)
    expect(hits.get(`${BASE_PATH}/token`)).toBe(5)
  })

  it('names the path and status when a target refuses to issue', async () => {
    const { url } = await legacyTarget(404)
    const err = await issueTokens({ url, kind: 'token', count: 3, concurrency: 2 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SetupFailedError)
    expect((err as Error).message).toMatch(/\/token answered 404/)
  })
})
