import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Http1Pool, serializeRequest } from '../../harness/engine/drivers/http1-pool.ts'
import type { Http1Answer } from '../../harness/engine/drivers/http1-pool.ts'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import type { LoadSettings } from '../../harness/types.ts'

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function listen(server: http.Server | net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(
    () =>
      new Promise((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections()
        server.close(() => resolve())
      })
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function send(pool: Http1Pool, request: Parameters<Http1Pool['dispatch']>[0], keepBody = true): Promise<Http1Answer> {
  return new Promise((resolve, reject) => pool.dispatch(request, { keepBody, onAnswer: resolve, onError: reject }))
}

describe('Http1Pool', () => {
  it('sends method, path, headers and body as given, and reuses one keep-alive socket', async () => {
    const seen: Array<{ method: string | undefined; url: string | undefined; headers: http.IncomingHttpHeaders; body: string; socket: net.Socket }> = []
    const url = await listen(
      http.createServer((req, res) => {
        let body = ''
        req.on('data', (c: Buffer) => {
          body += c.toString()
        })
        req.on('end', () => {
          seen.push({ method: req.method, url: req.url, headers: req.headers, body, socket: req.socket })
          res.writeHead(201, { 'content-type': 'application/json', 'x-twice': ['a', 'b'] }).end('{"ok":true}')
        })
      })
    )
    const pool = new Http1Pool(url, { connections: 4, timeoutMs: 2_000 })
    closers.push(() => pool.destroy())
    const request = Object.freeze({ method: 'POST', path: '/echo?q=1', headers: Object.freeze({ 'content-type': 'application/json', 'content-length': '999' }), body: '{"n":"é"}' })
    const first = await send(pool, request)
    const second = await send(pool, request)
    expect(first.status).toBe(201)
    expect(first.body.toString()).toBe('{"ok":true}')
    expect(first.rawHeaders).toContain('x-twice')
    expect(seen).toHaveLength(2)
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/echo?q=1', body: '{"n":"é"}' })
    // The body's own byte length, not the spec's stale content-length.
    expect(seen[0]?.headers['content-length']).toBe(String(Buffer.byteLength('{"n":"é"}')))
    expect(seen[0]?.headers.host).toBe(new URL(url).host)
    expect(seen[1]?.socket).toBe(seen[0]?.socket)
    expect(pool.openConnections).toBe(1)
    expect(second.wireBytes).toBe(first.wireBytes)
  })

  it('reads chunked bodies whole, counts the bytes on the wire, and reconnects after Connection: close', async () => {
    const sockets = new Set<net.Socket>()
    const url = await listen(
      http.createServer((req, res) => {
        sockets.add(req.socket)
        if (req.url === '/close') res.setHeader('connection', 'close')
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.write('x'.repeat(40_000))
        setImmediate(() => res.end('y'.repeat(30_000)))
      })
    )
    let wire = 0
    const raw = net.connect(Number(new URL(url).port), '127.0.0.1')
    raw.on('data', (c: Buffer) => {
      wire += c.length
    })
    raw.write('GET /count HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')
    await new Promise((resolve) => raw.on('close', resolve))
    const pool = new Http1Pool(url, { connections: 2, timeoutMs: 2_000 })
    closers.push(() => pool.destroy())
    const closing = await send(pool, { method: 'GET', path: '/close' })
    expect(closing.body.length).toBe(70_000)
    // The same response on a raw socket, but for the connection header's value: the whole frame is counted.
    expect(closing.wireBytes).toBe(wire)
    const next = await send(pool, { method: 'GET', path: '/again' }, false)
    expect(next.status).toBe(200)
    expect(next.body.length).toBe(0)
    expect(sockets.size).toBe(3)
  })

  it('fails a request the server never answers with ETIMEDOUT, and one it cuts with a reset', async () => {
    const url = await listen(
      net.createServer((socket) => {
        socket.once('data', (chunk: Buffer) => {
          if (chunk.toString().startsWith('GET /cut')) socket.destroy()
        })
      })
    )
    const pool = new Http1Pool(url, { connections: 2, timeoutMs: 300 })
    closers.push(() => pool.destroy())
    const started = performance.now()
    await expect(send(pool, { method: 'GET', path: '/hang' })).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(performance.now() - started).toBeLessThan(2_000)
    await expect(send(pool, { method: 'GET', path: '/cut' })).rejects.toThrow(/other side closed|ECONNRESET/)
    expect(pool.openConnections).toBe(0)
  })

  it('fails a malformed answer and closes the socket', async () => {
    const url = await listen(net.createServer((socket) => socket.once('data', () => socket.write('HTTP/1.1 abc nonsense\r\n\r\n'))))
    const pool = new Http1Pool(url, { connections: 1, timeoutMs: 2_000 })
    closers.push(() => pool.destroy())
    await expect(send(pool, { method: 'GET', path: '/' })).rejects.toMatchObject({ code: 'HPE_INVALID' })
    expect(pool.openConnections).toBe(0)
  })

  it('does not reuse a socket idle past its idle timeout, and refuses more sockets than allowed', async () => {
    const sockets = new Set<net.Socket>()
    const url = await listen(
      http.createServer((req, res) => {
        sockets.add(req.socket)
        res.end('ok')
      })
    )
    // Idleness is measured on performance.now(): fake that clock alone (sockets and the pool's
    // timeout sweep keep real timers) and move it past the idle timeout.
    vi.useFakeTimers({ toFake: ['performance'] })
    try {
      const pool = new Http1Pool(url, { connections: 1, timeoutMs: 2_000, idleTimeoutMs: 100 })
      closers.push(() => pool.destroy())
      await send(pool, { method: 'GET', path: '/' })
      vi.advanceTimersByTime(99)
      await send(pool, { method: 'GET', path: '/' })
      expect(sockets.size).toBe(1)
      vi.advanceTimersByTime(101)
      await send(pool, { method: 'GET', path: '/' })
      expect(sockets.size).toBe(2)
      const pending = send(pool, { method: 'GET', path: '/' })
      expect(() => pool.dispatch({ method: 'GET', path: '/' }, { keepBody: false, onAnswer: () => undefined, onError: () => undefined })).toThrow(/busy/)
      await pending
    } finally {
      vi.useRealTimers()
    }
  })

  it('refuses a header value with a line break (request splitting) and a non-http: origin', () => {
    expect(() => serializeRequest('h', { method: 'GET', path: '/', headers: { 'x-a': 'v\r\nx-b: injected' } })).toThrow(/line break/)
    expect(() => new Http1Pool('https://127.0.0.1:1', { connections: 1, timeoutMs: 1_000 })).toThrow(/plain http/)
  })
})

describe('OpenDriver transports', () => {
  const load = (overrides: Partial<LoadSettings> = {}): LoadSettings => ({
    model: 'open',
    durationMs: 600,
    warmupMs: 100,
    connections: 8,
    pipelining: 1,
    rateRps: 500,
    maxRequests: null,
    timeoutMs: 5_000,
    ...overrides
  })

  it('counts the same requests, statuses and bodies through the raw pool and through undici', async () => {
    const url = await listen(
      http.createServer((req, res) => {
        res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url }))
      })
    )
    for (const transport of ['http1', 'undici'] as const) {
      let n = 0
      const bodies: string[] = []
      const outcome = await new OpenDriver({ transport, startDeadlineMs: 5_000, maxInFlight: 200 }).run({
        url,
        load: load(),
        nextRequest: () => ({
          method: 'GET',
          path: ++n % 5 === 0 ? '/fail' : '/ok',
          expectedStatuses: [200],
          onResponse: (_s, headers, body) => {
            if (headers['content-type'] === 'application/json') bodies.push(body.toString())
          }
        })
      })
      expect(outcome.requests, transport).toBe(300)
      expect(outcome.statusCounts, transport).toEqual({ 200: 240, 503: 60 })
      expect(bodies.length, transport).toBe(350)
      expect(bodies.filter((b) => b === '{"path":"/fail"}').length, transport).toBe(70)
      expect(outcome.bytesRead, transport).toBeGreaterThan(300 * 60)
    }
  })
})
