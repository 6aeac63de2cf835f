// Load shedding on event-loop pressure, with @fastify/under-pressure. A CPU-bound Node process
// under overload queues requests in the kernel and the HTTP parser, where the request queue (which
// only counts requests that reached a handler) cannot see them: the event loop's delay can. Past
// the limit an API request is refused in its onRequest hook, before the body is parsed or any
// dependency touched, with 503 and Retry-After. Health, metrics and debug routes are never shed, so
// probes and scrapes keep answering while the API sheds.
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
  return config.shedMaxEventLoopDelayMs > 0 || config.shedMaxEventLoopUtilization > 0
}

const LIVE_TICK_MS = 5
/**
 * The live check sheds only in a turn that has already started this many API requests: a turn
 * made long by the requests in it (a flood), not by a GC pause or the process being descheduled,
 * which under a closed-model benchmark of a few dozen connections would otherwise shed a handful
 * of healthy requests.
 */
const LIVE_MIN_REQUESTS_PER_TURN = 64

/** Registers shedding on `app`'s context (the plugin does not encapsulate). */
export async function registerShedding(app: FastifyInstance, config: Config): Promise<Shedding> {
  const counts = { shed: 0, byCause: {} as Record<string, number> }
  const def = ERRORS.OVERLOADED
  const shedBody = (req: FastifyRequest, reply: FastifyReply, cause: string): Record<string, string> => {
    counts.shed++
    counts.byCause[cause] = (counts.byCause[cause] ?? 0) + 1
    reply.code(def.statusCode).header('retry-after', String(config.shedRetryAfterS)).type('application/json; charset=utf-8')
    return { error: def.oauthError, error_description: def.description, request_id: req.id }
  }
  const isApi = (req: FastifyRequest): boolean => (req.routeOptions.config as { api?: string } | undefined)?.api !== undefined
  // The plugin's first samples after start-up hold the start-up work itself (migrations, seeding,
  // module loading), not load: without this the first requests after readiness were shed.
  let sampledFromMs = Number.POSITIVE_INFINITY
  app.addHook('onReady', async () => { sampledFromMs = performance.now() + 2 * config.shedSampleIntervalMs })

  // The plugin samples the loop from a timer, and a timer cannot fire while the loop is busy: one
  // long turn (thousands of sockets read at once under a closed-model flood) would be admitted in
  // full before the next sample says "pressure". So the delay of the turn in progress is also
  // checked per request, written by hand because it is one subtraction: how late a short interval
  // timer is right now. Requests late in an overlong turn are shed; those early in it still run.
  if (config.shedMaxEventLoopDelayMs > 0) {
    let lastTickMs = performance.now()
    let requestsThisTurn = 0
    const ticker = setInterval(() => {
      lastTickMs = performance.now()
      requestsThisTurn = 0
    }, LIVE_TICK_MS)
    ticker.unref()
    // Start-up work (seeding, migrations) delays the first tick; it is not load.
    app.addHook('onReady', async () => { lastTickMs = performance.now() })
    app.addHook('onClose', async () => clearInterval(ticker))
    app.addHook('onRequest', (req, reply, done) => {
      if (!isApi(req)) return done()
      if (++requestsThisTurn > LIVE_MIN_REQUESTS_PER_TURN && performance.now() - lastTickMs - LIVE_TICK_MS > config.shedMaxEventLoopDelayMs) {
        void reply.send(shedBody(req, reply, 'liveEventLoopDelay'))
        return
      }
      done()
    })
  }
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
      if (!isApi(req) || performance.now() < sampledFromMs) return undefined
      return shedBody(req, reply, type)
    }) as unknown as (req: FastifyRequest, reply: FastifyReply, type: string) => void
  })
  return { stats: () => ({ shed: counts.shed, byCause: { ...counts.byCause } }) }
}
