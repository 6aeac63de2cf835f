// Load shedding on event-loop pressure, with @fastify/under-pressure. A CPU-bound Node process
// under overload queues requests in the kernel and the HTTP parser, where the request queue (which
// only counts requests that reached a handler) cannot see them: the event loop's delay can. Past
// the limit an API request is refused in its onRequest hook, before the body is parsed or any
// dependency touched, with 503 and Retry-After. Health, metrics and debug routes are never shed, so
// probes and scrapes keep answering while the API sheds.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.ts'
import { ERRORS } from '../errors.ts'

export interface SheddingStats {
  shed: number
  byCause: Record<string, number>
}

export interface Shedding {
  stats(): SheddingStats
}

export function sheddingEnabled(config: Config): boolean {
  return config.shedMaxEventLoopDelayMs > 0 || config.shedMaxEventLoopUtilization > 0 || config.shedMaxActiveConnections > 0
}

/** Connections refused at the door so far, by the server's own count (read by the shedding stats). */
export interface DoorCount {
  shed: number
}

/**
 * Admission by concurrency at the door: past `config.shedMaxActiveConnections` open connections,
 * a new one whose first request is an API call (a POST) is answered 503 with Retry-After and closed
 * as soon as its first bytes arrive, without parsing them or creating a request; a GET (health,
 * readiness, metrics) is let through, as shedding never refuses those. A closed-model flood of thousands of connections otherwise
 * queues one request per connection in this process, and every request, admitted or shed, waits
 * behind all the others (latency ≈ connections ÷ throughput, Little's law): shedding requests one
 * by one after parsing kept the admitted p99 at ~450 ms under 4,000 connections. Bounding the
 * connections served bounds that wait. Node's own `server.maxConnections` (MAX_CONNECTIONS, the
 * hard cap on file descriptors) destroys the socket with no answer; this one answers first.
 * Written by hand because no Fastify plugin works below the HTTP parser: the server's own
 * 'connection' listeners (Node's HTTP parser) are wrapped so that only admitted sockets reach them.
 */
export function shedConnectionsAtTheDoor(server: Server, config: Config, count: DoorCount): void {
  const limit = config.shedMaxActiveConnections
  if (limit <= 0) return
  const def = ERRORS.OVERLOADED
  const body = JSON.stringify({ error: def.oauthError, error_description: def.description })
  const answer = Buffer.from(
    `HTTP/1.1 ${def.statusCode} Service Unavailable\r\nRetry-After: ${config.shedRetryAfterS}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    'latin1'
  )
  const parsers = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  let active = 0
  const admit = (socket: Socket): void => {
    active++
    socket.once('close', () => {
      active--
    })
    for (const parse of parsers) parse.call(server, socket)
  }
  const onError = (socket: Socket) => () => socket.destroy()
  server.on('connection', (socket: Socket) => {
    if (active < limit) {
      admit(socket)
      return
    }
    const destroyOnError = onError(socket)
    socket.on('error', destroyOnError)
    socket.setTimeout(config.headersTimeoutMs, () => socket.destroy())
    // Answered once the client has spoken, so its first request gets this answer (a response
    // written before any request is one a client may take for a broken connection).
    socket.once('data', (chunk: Buffer) => {
      // Probes and scrapes get through: every operational route (health, readiness, metrics,
      // stats) is a GET and every API route a POST, so the request line's method tells them
      // apart without parsing. The chunk already read is handed to the parser after it attaches.
      if (chunk.subarray(0, 4).toString('latin1') === 'GET ') {
        socket.removeListener('error', destroyOnError)
        socket.setTimeout(0)
        admit(socket)
        socket.emit('data', chunk)
        return
      }
      count.shed++
      socket.end(answer)
    })
  })
}

const LIVE_TICK_MS = 5
/**
 * The live check sheds only in a turn that has already started this many API requests: a turn
 * made long by the requests in it (a flood), not by a GC pause or the process being descheduled,
 * which under a closed-model benchmark of a few dozen connections would otherwise shed a handful
 * of healthy requests.
 */
const LIVE_MIN_REQUESTS_PER_TURN = 64

/**
 * CPU this process used over a window, as a share of the window's wall time: near 1 when its own
 * work made the loop late (overload, which shedding relieves), low when it was descheduled (another
 * process on its core, a noisy neighbour, a second target in an A/B duet), which refusing requests
 * cannot help. process.cpuUsage() costs ~1 µs.
 */
class CpuShare {
  #cpuUs: number
  #atMs: number
  constructor() {
    const u = process.cpuUsage()
    this.#cpuUs = u.user + u.system
    this.#atMs = performance.now()
  }

  /** Share since the last mark (or construction). */
  since(): number {
    const u = process.cpuUsage()
    const wallMs = performance.now() - this.#atMs
    return wallMs <= 0 ? 1 : (u.user + u.system - this.#cpuUs) / 1000 / wallMs
  }

  mark(): void {
    const u = process.cpuUsage()
    this.#cpuUs = u.user + u.system
    this.#atMs = performance.now()
  }
}

/** Answers a shed request (503, Retry-After) and counts it by cause; returns the body to send. */
type Shed = (req: FastifyRequest, reply: FastifyReply, cause: string) => Record<string, string>

const isApi = (req: FastifyRequest): boolean => (req.routeOptions.config as { api?: string } | undefined)?.api !== undefined

/** Registers shedding on `app`'s context (the plugin does not encapsulate). */
export async function registerShedding(app: FastifyInstance, config: Config, door: DoorCount = { shed: 0 }): Promise<Shedding> {
  const counts = { shed: 0, byCause: {} as Record<string, number> }
  const def = ERRORS.OVERLOADED
  const shed: Shed = (req, reply, cause) => {
    counts.shed++
    counts.byCause[cause] = (counts.byCause[cause] ?? 0) + 1
    reply.code(def.statusCode).header('retry-after', String(config.shedRetryAfterS)).type('application/json; charset=utf-8')
    if (config.shedCloseConnection) reply.header('connection', 'close')
    return { error: def.oauthError, error_description: def.description, request_id: req.id }
  }
  const samplingFromMs = skipSamplesOfOperatorWork(app, config)
  if (config.shedMaxEventLoopDelayMs > 0) registerLiveDelayCheck(app, config, shed)
  await registerPressurePlugin(app, config, shed, samplingFromMs)
  return {
    stats: () => ({
      shed: counts.shed + door.shed,
      byCause: door.shed > 0 ? { ...counts.byCause, activeConnections: door.shed } : { ...counts.byCause }
    })
  }
}

/** Whether the loop's lateness over a window was this process's own work (see CpuShare). */
function ownWork(config: Config, share: number): boolean {
  return config.shedMinCpuShare <= 0 || share >= config.shedMinCpuShare
}

/**
 * When the plugin's samples start to count as load; returns a reader for that instant (ms on the
 * performance clock), which moves later after start-up and after every seeding call.
 */
function skipSamplesOfOperatorWork(app: FastifyInstance, config: Config): () => number {
  // The plugin's first samples after start-up hold the start-up work itself (migrations, seeding,
  // module loading), not load: without this the first requests after readiness were shed.
  let sampledFromMs = Number.POSITIVE_INFINITY
  app.addHook('onReady', async () => {
    sampledFromMs = performance.now() + 2 * config.shedSampleIntervalMs
  })
  // Seeding (a route with `config.seeding`: POST /debug/tokens mints up to 5,000 tokens in one turn) is the operator's work, not
  // load: the plugin's next samples would hold it, and the API requests that follow a seeding
  // call (a benchmark's measured window) were shed. Its samples are skipped the same way.
  app.addHook('onResponse', (req, _reply, done) => {
    if ((req.routeOptions.config as { seeding?: boolean } | undefined)?.seeding === true)
      sampledFromMs = Math.max(sampledFromMs, performance.now() + 2 * config.shedSampleIntervalMs)
    done()
  })
  return () => sampledFromMs
}

/**
 * The plugin samples the loop from a timer, and a timer cannot fire while the loop is busy: one
 * long turn (thousands of sockets read at once under a closed-model flood) would be admitted in
 * full before the next sample says "pressure". So the delay of the turn in progress is also
 * checked per request, written by hand because it is one subtraction: how late a short interval
 * timer is right now. Requests late in an overlong turn are shed; those early in it still run.
 */
function registerLiveDelayCheck(app: FastifyInstance, config: Config, shed: Shed): void {
  let lastTickMs = performance.now()
  let requestsThisTurn = 0
  const turnCpu = new CpuShare()
  const ticker = setInterval(() => {
    lastTickMs = performance.now()
    requestsThisTurn = 0
    turnCpu.mark()
  }, LIVE_TICK_MS)
  ticker.unref()
  // Start-up work (seeding, migrations) delays the first tick; it is not load.
  app.addHook('onReady', async () => {
    lastTickMs = performance.now()
  })
  app.addHook('onClose', async () => clearInterval(ticker))
  app.addHook('onRequest', (req, reply, done) => {
    if (!isApi(req)) return done()
    if (++requestsThisTurn > LIVE_MIN_REQUESTS_PER_TURN && performance.now() - lastTickMs - LIVE_TICK_MS > config.shedMaxEventLoopDelayMs && ownWork(config, turnCpu.since())) {
      void reply.send(shed(req, reply, 'liveEventLoopDelay'))
      return
    }
    done()
  })
}

/** @fastify/under-pressure on the sampled delay and utilisation, shedding only API requests. */
async function registerPressurePlugin(app: FastifyInstance, config: Config, shed: Shed, samplingFromMs: () => number): Promise<void> {
  // The plugin's samples are judged the same way: the share over the last sample interval.
  const sampleCpu = new CpuShare()
  let sampleShare = 1
  const sampler = setInterval(() => {
    sampleShare = sampleCpu.since()
    sampleCpu.mark()
  }, config.shedSampleIntervalMs)
  sampler.unref()
  app.addHook('onClose', async () => clearInterval(sampler))
  await app.register(underPressure, {
    maxEventLoopDelay: config.shedMaxEventLoopDelayMs,
    maxEventLoopUtilization: config.shedMaxEventLoopUtilization,
    // 'interval': utilisation over the last sample, not since start-up (the plugin's default).
    eventLoopUtilizationMode: 'interval',
    sampleInterval: config.shedSampleIntervalMs,
    retryAfter: config.shedRetryAfterS,
    // The plugin sends a handler's non-null return value as the reply and admits the request on
    // null/undefined (index.js handlePressure); its types declare the return as void.
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, type: string) => {
      // Routes without an `api` tag (health, metrics, debug) are admitted: returning nothing lets the request through.
      if (!isApi(req) || performance.now() < samplingFromMs() || !ownWork(config, sampleShare)) return undefined
      return shed(req, reply, type)
    }) as unknown as (req: FastifyRequest, reply: FastifyReply, type: string) => void
  })
}
