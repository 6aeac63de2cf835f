// Graceful shutdown: app.close() persists every pending token and every queued revocation and
// OTT consumption; the real process exits 0 on SIGTERM after finishing its in-flight requests.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { BASE, CLIENT, ControlledStore, claimsOf, closeAllApps, closeApp, getOtt, getToken, makeApp, revoke, sleep, validate, waitFor } from './helpers.ts'
import { exitWithin, freePort, listening, spawnServer, type ServerProcess } from './process.ts'

afterEach(closeAllApps)

const NEVER_FLUSH = { BATCH_SIZE: '10000', BATCH_FLUSH_INTERVAL_MS: '600000' }

/** How many requests the HTTP server has received so far. */
function requestsSeen(app: FastifyInstance): () => number {
  let n = 0
  app.server.on('request', () => {
    n++
  })
  return () => n
}

async function listenOn(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** POST JSON over a real socket; agent false sends Connection: close. */
function post(port: number, path: string, body: unknown, agent: http.Agent | false): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let data = ''
      res.setEncoding('utf8').on('data', (d: string) => {
        data += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data, connection: res.headers.connection }))
    })
    req.on('error', reject)
    req.end(JSON.stringify(body))
  })
}

describe('app.close()', () => {
  it.each(['phase1', 'phase2', 'phase3'])('%s: persists every pending token', async (preset) => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: preset, ...NEVER_FLUSH }, { store })
    const ids: string[] = []
    for (let i = 0; i < 40; i++) ids.push(claimsOf(await getToken(app)).token_id)
    for (let i = 0; i < 10; i++) ids.push(claimsOf(await getOtt(app)).token_id)
    expect(app.auth.writer?.pending).toBe(50)
    expect(store.inserted.size).toBe(0)
    await closeApp(app)
    expect(store.inserted.size).toBe(50)
    for (const id of ids) expect(store.inserted.has(id), id).toBe(true)
  })

  it('persists pending tokens even when the first flush attempts at shutdown fail', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase2', ...NEVER_FLUSH, BATCH_RETRY_BASE_MS: '1', BATCH_RETRY_MAX_MS: '5' }, { store })
    const ids: string[] = []
    for (let i = 0; i < 12; i++) ids.push(claimsOf(await getToken(app)).token_id)
    store.insertFailures = 3
    await closeApp(app)
    expect(store.insertFailures).toBe(0)
    for (const id of ids) expect(store.inserted.has(id), id).toBe(true)
  })

  it('lets requests in flight on a real socket finish, and flushes what they issued', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase2', ...NEVER_FLUSH, INJECT_DELAY_MS: '150', INJECT_DELAY_RATIO: '1' }, { store })
    const port = await listenOn(app)
    const seen = requestsSeen(app)
    const inflight = Array.from({ length: 5 }, () => post(port, `${BASE}/token`, { grant_type: 'client_credentials', ...CLIENT }, false))
    expect(await waitFor(() => seen() === 5, 5_000, 1)).toBe(true)
    const t0 = Date.now()
    await closeApp(app)
    const results = await Promise.all(inflight)
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    const issued = results.map((r) => claimsOf((JSON.parse(r.body) as { access_token: string }).access_token).token_id)
    for (const id of issued) expect(store.inserted.has(id)).toBe(true)
    expect(Date.now() - t0).toBeLessThan(3_000)
  })

  // Fastify's server.close() only reaps connections idle at that moment; a keep-alive connection
  // whose response finishes afterwards would stay open until keepAliveTimeout (72 s) or the forced
  // closeAllConnections (SHUTDOWN_TIMEOUT_MS), and the flush (an onClose hook) would wait for it.
  // The app keeps reaping idle connections while it closes. Every load generator uses keep-alive.
  it('close() does not wait for the idle keep-alive socket of a request that was in flight', async () => {
    const app = await makeApp({ PRESET: 'phase2', INJECT_DELAY_MS: '150', INJECT_DELAY_RATIO: '1' })
    const port = await listenOn(app)
    const seen = requestsSeen(app)
    const agent = new http.Agent({ keepAlive: true })
    try {
      const inflight = post(port, `${BASE}/token`, { grant_type: 'client_credentials', ...CLIENT }, agent)
      expect(await waitFor(() => seen() === 1, 5_000, 1)).toBe(true)
      const closing = app.close()
      expect((await inflight).status).toBe(200)
      const outcome = await Promise.race([closing.then(() => 'closed'), sleep(2_000).then(() => 'still open')])
      if (outcome !== 'closed') {
        app.server.closeAllConnections()
        await closing
      }
      expect(outcome).toBe('closed')
    } finally {
      agent.destroy()
    }
  })

  it('phase3: revocations and OTT consumptions queued in the pool are persisted', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase3', REVOCATION_WORKERS: '2', REVOCATION_BATCH_SIZE: '3', ...NEVER_FLUSH }, { store })
    const jwts = await Promise.all(Array.from({ length: 20 }, () => getToken(app)))
    const otts = await Promise.all(Array.from({ length: 5 }, () => getOtt(app)))
    store.revokeDelayMs = 150
    store.markUsedDelayMs = 150
    const revoked = jwts.map((j) => claimsOf(j).token_id)
    const used = otts.map((o) => claimsOf(o).token_id)
    expect((await Promise.all(jwts.map((j) => revoke(app, j)))).map((r) => r.statusCode)).toEqual(jwts.map(() => 200))
    expect((await Promise.all(otts.map((o) => validate(app, o)))).map((r) => r.statusCode)).toEqual(otts.map(() => 200))
    const stats = app.auth.revocations!.stats()
    // The responses did not wait for the store: most jobs are still queued or being written.
    expect(stats.queued + stats.inFlight).toBeGreaterThan(0)
    expect(store.revoked.size).toBeLessThan(20)
    await closeApp(app)
    for (const id of revoked) expect(store.revoked.has(id), id).toBe(true)
    for (const id of used) expect(store.used.has(id), id).toBe(true)
    // Tokens revoked before their insert keep the revocation after the insert at shutdown.
    for (const id of revoked) expect(store.inserted.has(id)).toBe(true)
  })

  it('the pool refuses new jobs once closing (the caller then persists synchronously)', async () => {
    const store = new ControlledStore()
    const app = await makeApp({ PRESET: 'phase3' }, { store })
    const pool = app.auth.revocations!
    await pool.close()
    const jwt = await getToken(app)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    expect(store.revoked.has(claimsOf(jwt).token_id)).toBe(true)
    expect(pool.stats().rejected).toBe(1)
  })
})

/**
 * Resolves once the target process reports a request running under its request queue (the
 * default preset has one): the request reached its handler, so a signal sent now finds it in flight.
 */
async function requestRunning(url: string): Promise<boolean> {
  return waitFor(async () => /^authbench_queue_active 1$/m.test(await (await fetch(`${url}/metrics`)).text()), 5_000, 10)
}

describe('the real process', () => {
  let proc: ServerProcess | undefined
  afterEach(async () => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL')
      await proc.exited
    }
    proc = undefined
  })

  it('exits 0 on SIGTERM, after answering the request in flight', async () => {
    const port = await freePort()
    // The request is delayed 1 s in the target; SIGTERM comes once the target is running it.
    proc = spawnServer({ PORT: String(port), INJECT_DELAY_MS: '1000', INJECT_DELAY_RATIO: '1' })
    const url = await listening(proc)
    expect(url).toBe(`http://127.0.0.1:${port}`)
    const inflight = post(port, `${BASE}/token`, { grant_type: 'client_credentials', ...CLIENT }, false)
    expect(await requestRunning(url)).toBe(true)
    proc.child.kill('SIGTERM')
    const res = await inflight
    expect(res.status).toBe(200)
    expect((JSON.parse(res.body) as { token_type: string }).token_type).toBe('Bearer')
    expect(await exitWithin(proc, 5_000)).toBe(0)
    expect(proc.stderr()).not.toMatch(/error/i)
  })

  // The keep-alive case of the test above, in the real process: exit 0 well before
  // SHUTDOWN_TIMEOUT_MS would force the idle keep-alive socket closed.
  it('exits 0 on SIGTERM promptly with a keep-alive client (fetch) that had a request in flight', async () => {
    const port = await freePort()
    proc = spawnServer({ PORT: String(port), INJECT_DELAY_MS: '1000', INJECT_DELAY_RATIO: '1' })
    const url = await listening(proc)
    const inflight = fetch(`${url}${BASE}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', ...CLIENT })
    })
    expect(await requestRunning(url)).toBe(true)
    proc.child.kill('SIGTERM')
    const res = await inflight
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect(await exitWithin(proc, 5_000)).toBe(0)
  })

  it('exits 0 on SIGINT too', async () => {
    const port = await freePort()
    proc = spawnServer({ PORT: String(port) })
    await listening(proc)
    proc.child.kill('SIGINT')
    expect(await exitWithin(proc, 10_000)).toBe(0)
  })
})
