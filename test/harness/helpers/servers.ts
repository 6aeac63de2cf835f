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

/** The REST service's own counters, to check a journey's per-step counts against. */
export interface RestCounters {
  created: number
  read: number
  updated: number
  patched: number
  deleted: number
  /** Items still stored. */
  live: () => number
}

/**
 * A small in-memory REST service: POST /items (201 {id}), GET /items/:id, PUT and PATCH
 * /items/:id, DELETE /items/:id (204), 404 for an unknown id. `checkFailEvery`: every n-th GET
 * answers a body whose `name` is wrong (200 still), for check-failure tests.
 */
export async function restServer(options: { checkFailEvery?: number } = {}): Promise<TestServer & { counters: RestCounters }> {
  const items = new Map<number, Record<string, unknown>>()
  let nextId = 1
  const counters: RestCounters = { created: 0, read: 0, updated: 0, patched: 0, deleted: 0, live: () => items.size }
  const json = (res: ServerResponse, status: number, value: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
  const server = await listen((req, body, res) => {
    const m = /^\/items(?:\/(\d+))?$/.exec(req.url ?? '')
    if (m === null) return json(res, 404, { error: 'not found' })
    const id = m[1] === undefined ? null : Number(m[1])
    if (id === null) {
      if (req.method !== 'POST') return json(res, 405, { error: 'method' })
      const item = { ...(JSON.parse(body || '{}') as Record<string, unknown>), id: nextId++ }
      items.set(item.id, item)
      counters.created++
      return json(res, 201, item)
    }
    const item = items.get(id)
    if (item === undefined) return json(res, 404, { error: 'no such item' })
    switch (req.method) {
      case 'GET': {
        counters.read++
        const every = options.checkFailEvery
        return json(res, 200, every !== undefined && counters.read % every === 0 ? { ...item, name: 'wrong' } : item)
      }
      case 'PUT':
        counters.updated++
        items.set(id, { ...(JSON.parse(body) as Record<string, unknown>), id })
        return json(res, 200, items.get(id))
      case 'PATCH':
        counters.patched++
        Object.assign(item, JSON.parse(body) as Record<string, unknown>)
        return json(res, 200, item)
      case 'DELETE':
        counters.deleted++
        items.delete(id)
        return void res.writeHead(204).end()
      default:
        return json(res, 405, { error: 'method' })
    }
  })
  return Object.assign(server, { counters })
}
