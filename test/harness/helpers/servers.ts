// Tiny local HTTP servers on 127.0.0.1 (port 0) for driver tests: one fast, one that stalls
// every response for a while once per second (to make coordinated omission visible).
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TestServer {
  url: string
  /** Request bodies received, in arrival order, by path. */
  bodies: string[]
  requests: number
  close: () => Promise<void>
}

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

async function listen(handler: Handler): Promise<TestServer> {
  const state: TestServer = { url: '', bodies: [], requests: 0, close: async () => {} }
  const server: Server = createServer((req, res) => {
    state.requests++
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      if (body !== '') state.bodies.push(body)
      handler(req, body, res)
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.url = `http://127.0.0.1:${port}`
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}

/** 200 'ok' on /ok, 201 echo on POST /echo, 500 on /fail, a never-ending response on /hang. */
export function fastServer(): Promise<TestServer> {
  return listen((req, body, res) => {
    if (req.url === '/fail') {
      res.writeHead(500).end('fail')
    } else if (req.url === '/hang') {
      // never answers
    } else if (req.method === 'POST' && req.url === '/echo') {
      res.writeHead(201, { 'content-type': 'text/plain' }).end(body)
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    }
  })
}

/**
 * Answers at once, except that during the first `stallMs` of every second (from its own start)
 * every response is held until the stall window ends.
 */
export function stallingServer(stallMs: number): Promise<TestServer> {
  const startMs = performance.now()
  return listen((_req, _body, res) => {
    const intoSecondMs = (performance.now() - startMs) % 1000
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    }
    if (intoSecondMs < stallMs) setTimeout(send, stallMs - intoSecondMs)
    else send()
  })
}

/** Holds every response until `holdMs` after the server started, then answers at once. */
export function holdingServer(holdMs: number): Promise<TestServer> {
  const startMs = performance.now()
  return listen((_req, _body, res) => {
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    }
    const leftMs = startMs + holdMs - performance.now()
    if (leftMs > 0) setTimeout(send, leftMs)
    else send()
  })
}

/** Counts requests by method; a REST resource's answers: 201 POST, 204 DELETE and OPTIONS, HEAD headers only. */
export async function methodServer(): Promise<TestServer & { byMethod: Record<string, number>; bodiesByMethod: Record<string, string[]> }> {
  const byMethod: Record<string, number> = {}
  const bodiesByMethod: Record<string, string[]> = {}
  const state = await listen((req, body, res) => {
    const method = req.method ?? '?'
    byMethod[method] = (byMethod[method] ?? 0) + 1
    if (body !== '') (bodiesByMethod[method] ??= []).push(body)
    if (method === 'POST') res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"1"}')
    else if (method === 'DELETE') res.writeHead(204).end()
    else if (method === 'OPTIONS') res.writeHead(204, { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' }).end()
    // HEAD announces the GET's length and sends no body: a client that waits for one hangs.
    else res.writeHead(200, { 'content-type': 'application/json', 'content-length': '15' }).end(method === 'HEAD' ? undefined : '{"name":"item"}')
  })
  return Object.assign(state, { byMethod, bodiesByMethod })
}
