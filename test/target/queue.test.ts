// The request queue: overflow and queue timeout answer 429 with Retry-After, the ops routes are
// never queued, and the slot accounting returns to zero (never below) whatever happened.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { AuthError } from '../../target/errors.ts'
import { RequestQueue } from '../../target/services/request-queue.ts'
import { BASE, CLIENT, ControlledStore, closeAllApps, expectErrorShape, makeApp, postToken, sleep, waitFor } from './helpers.ts'

afterEach(closeAllApps)

/** Tokens inserted on the request path (no batch writer) by a store that takes `ms` each. */
async function slowApp(env: Record<string, string>, insertMs: number) {
  const store = new ControlledStore()
  const app = await makeApp({ PRESET: 'phase2', BATCH_SIZE: '0', ...env }, { store })
  store.insertDelayMs = insertMs
  return app
}

describe('429 from the request queue', () => {
  it('overflow: QUEUE_MAX_CONCURRENT=1, QUEUE_CAPACITY=1 → one runs, one waits, the rest get 429', async () => {
    const app = await slowApp({ QUEUE_MAX_CONCURRENT: '1', QUEUE_CAPACITY: '1', QUEUE_TIMEOUT_MS: '5000' }, 200)
    const results = await Promise.all(Array.from({ length: 6 }, () => postToken(app)))
    const codes = results.map((r) => r.statusCode).sort()
    expect(codes).toEqual([200, 200, 429, 429, 429, 429])
    for (const r of results.filter((x) => x.statusCode === 429)) {
      const body = expectErrorShape(r, 429, 'temporarily_unavailable')
      expect(body.error_description).toMatch(/busy/)
      expect(r.headers['retry-after']).toBe('1')
    }
    const s = app.auth.queue!.stats()
    expect(s).toMatchObject({ active: 0, waiting: 0, rejectedFull: 4, rejectedTimeout: 0, queued: 1 })
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    expect(metrics.body).toMatch(/^authbench_queue_rejections_total 4$/m)
  })

  it('every API route is admitted through the queue (validate and revoke too)', async () => {
    const app = await slowApp({ QUEUE_MAX_CONCURRENT: '1', QUEUE_CAPACITY: '0', QUEUE_TIMEOUT_MS: '5000' }, 400)
    const holding = postToken(app)
    expect(await waitFor(() => app.auth.queue!.stats().active === 1, 2_000, 1)).toBe(true)
    const auth = { authorization: 'Bearer x' }
    for (const path of ['token', 'ott', 'validate', 'revoke']) {
      const res = await app.inject({
        method: 'POST',
        url: `${BASE}/${path}`,
        headers: path === 'validate' || path === 'revoke' ? auth : {},
        payload: { grant_type: 'client_credentials', ...CLIENT }
      })
      expectErrorShape(res, 429, 'temporarily_unavailable')
    }
    // GET /, health, metrics and stats are not queued
    expect((await app.inject({ method: 'GET', url: `${BASE}/` })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200)
    expect((await app.inject({ method: 'GET', url: '/debug/stats' })).statusCode).toBe(200)
    expect((await holding).statusCode).toBe(200)
  })

  it('timeout: a request that waits longer than QUEUE_TIMEOUT_MS gets 429', async () => {
    const app = await slowApp({ QUEUE_MAX_CONCURRENT: '1', QUEUE_CAPACITY: '10', QUEUE_TIMEOUT_MS: '40' }, 250)
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 3 }, () => postToken(app)))
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 429, 429])
    for (const r of results.filter((x) => x.statusCode === 429)) {
      const body = expectErrorShape(r, 429, 'temporarily_unavailable')
      expect(body.error_description).toMatch(/waited too long/)
      expect(r.headers['retry-after']).toBe('1')
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(240)
    expect(app.auth.queue!.stats()).toMatchObject({ active: 0, waiting: 0, rejectedTimeout: 2, rejectedFull: 0 })
    // the queue serves again
    expect((await postToken(app)).statusCode).toBe(200)
  })

  it("INJECT_DELAY requests arriving together overflow a queue of 1+1 (the brief's setup)", async () => {
    const app = await makeApp({ PRESET: 'phase2', QUEUE_MAX_CONCURRENT: '1', QUEUE_CAPACITY: '1', INJECT_DELAY_MS: '100', INJECT_DELAY_RATIO: '1' })
    const codes = (await Promise.all(Array.from({ length: 6 }, () => postToken(app)))).map((r) => r.statusCode)
    expect(codes.every((c) => c === 200 || c === 429)).toBe(true)
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0)
    expect(app.auth.queue!.stats().active).toBe(0)
  })

  it('a client that goes away while queued gives its slot back', async () => {
    const app = await slowApp({ QUEUE_MAX_CONCURRENT: '1', QUEUE_CAPACITY: '5', QUEUE_TIMEOUT_MS: '5000' }, 150)
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const send = (): { req: http.ClientRequest; done: Promise<number | string> } => {
      let req!: http.ClientRequest
      const done = new Promise<number | string>((resolve) => {
        req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `${BASE}/token`, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
        req.end(JSON.stringify({ grant_type: 'client_credentials', ...CLIENT }))
      })
      return { req, done }
    }
    const a = send()
    await waitFor(() => app.auth.queue!.stats().active === 1, 2_000, 2)
    const b = send()
    await waitFor(() => app.auth.queue!.stats().waiting === 1, 2_000, 2)
    b.req.destroy()
    expect(await a.done).toBe(200)
    await b.done
    expect(await waitFor(() => app.auth.queue!.stats().active === 0, 2_000)).toBe(true)
    expect(app.auth.queue!.stats().waiting).toBe(0)
    expect(await send().done).toBe(200)
    expect(app.auth.queue!.stats().active).toBe(0)
  })
})

describe('RequestQueue (unit)', () => {
  const opts = (o: Partial<{ maxConcurrent: number; capacity: number; timeoutMs: number }> = {}) => ({ maxConcurrent: 2, capacity: 3, timeoutMs: 10_000, ...o })

  it('admits up to maxConcurrent at once without a promise', () => {
    const q = new RequestQueue(opts())
    expect(q.acquire()).toBe(true)
    expect(q.acquire()).toBe(true)
    expect(q.acquire()).toBeInstanceOf(Promise)
    expect(q.stats()).toMatchObject({ active: 2, waiting: 1, admitted: 2, queued: 1 })
    q.release()
    q.release()
    q.release()
    expect(q.stats()).toMatchObject({ active: 0, waiting: 0 })
  })

  it('hands slots to waiters in FIFO order', async () => {
    const q = new RequestQueue(opts({ maxConcurrent: 1, capacity: 10 }))
    expect(q.acquire()).toBe(true)
    const order: number[] = []
    const waits = Array.from({ length: 5 }, (_, i) => (q.acquire() as Promise<void>).then(() => order.push(i)))
    for (let i = 0; i < 5; i++) {
      q.release()
      await waits[i]
      expect(q.stats().active).toBe(1)
    }
    expect(order).toEqual([0, 1, 2, 3, 4])
    q.release()
    expect(q.stats().active).toBe(0)
  })

  it('throws a 429 QUEUE_FULL AuthError when the waiting room is full', () => {
    const q = new RequestQueue(opts({ maxConcurrent: 1, capacity: 1 }))
    q.acquire()
    void q.acquire()
    let err: unknown
    try {
      q.acquire()
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(AuthError)
    expect(err).toMatchObject({ statusCode: 429, code: 'AUTH_ERR_QUEUE_FULL', oauthError: 'temporarily_unavailable', retryAfterS: 1 })
    expect(q.stats().rejectedFull).toBe(1)
  })

  it('capacity 0 refuses at once when busy', () => {
    const q = new RequestQueue(opts({ maxConcurrent: 1, capacity: 0 }))
    expect(q.acquire()).toBe(true)
    expect(() => q.acquire()).toThrow(AuthError)
  })

  it('times a waiter out with QUEUE_TIMEOUT, and a later release skips it', async () => {
    const q = new RequestQueue(opts({ maxConcurrent: 1, capacity: 5, timeoutMs: 20 }))
    expect(q.acquire()).toBe(true)
    const timedOut = q.acquire() as Promise<void>
    await expect(timedOut).rejects.toMatchObject({ statusCode: 429, code: 'AUTH_ERR_QUEUE_TIMEOUT' })
    expect(q.stats()).toMatchObject({ active: 1, waiting: 0, rejectedTimeout: 1 })
    const next = q.acquire() as Promise<void>
    q.release()
    await next
    expect(q.stats()).toMatchObject({ active: 1, waiting: 0 })
    q.release()
    expect(q.stats()).toMatchObject({ active: 0, waiting: 0 })
    expect(q.acquire()).toBe(true)
  })

  it('accounting stays exact through a mix of admissions, timeouts and releases', async () => {
    const q = new RequestQueue(opts({ maxConcurrent: 3, capacity: 4, timeoutMs: 15 }))
    let held = 0
    for (let round = 0; round < 20; round++) {
      const pending: Array<Promise<void>> = []
      for (let i = 0; i < 6; i++) {
        try {
          const a = q.acquire()
          if (a === true) held++
          else
            pending.push(
              a.then(
                () => {
                  held++
                },
                () => undefined
              )
            )
        } catch {
          // full
        }
      }
      if (round % 3 === 0) await sleep(20) // let the waiters time out
      while (held > 0) {
        held--
        q.release()
        await Promise.resolve()
      }
      await Promise.all(pending)
      while (held > 0) {
        held--
        q.release()
      }
      const s = q.stats()
      expect(s.active).toBe(0)
      expect(s.waiting).toBe(0)
    }
  })

  it('an extra release never drives the active count below zero', () => {
    const q = new RequestQueue(opts({ maxConcurrent: 1, capacity: 0 }))
    expect(q.acquire()).toBe(true)
    q.release()
    q.release()
    expect(q.stats().active).toBe(0)
    // and the concurrency bound still holds
    expect(q.acquire()).toBe(true)
    expect(() => q.acquire()).toThrow(AuthError)
  })
})
