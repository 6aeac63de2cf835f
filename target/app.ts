// The composition root: builds the store, cache and services the config names, registers the
// routes, and owns shutdown order. Only server.ts listens; tests call buildApp() and inject().
import cluster from 'node:cluster'
import { randomBytes } from 'node:crypto'
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { createCache, createStore } from './backends.ts'
import { describeConfig, type Config } from './config.ts'
import type { Store, SweepLock, TokenCache } from './domain.ts'
import { AuthError, ERRORS } from './errors.ts'
import type { Logger } from './logger.ts'
import type { Registry } from 'prom-client'
import { createMetrics, type AppMetrics } from './metrics.ts'
import { clusterMetrics, rememberRegistry } from './metrics-cluster.ts'
import { BASE_PATH, oauthRoutes } from './routes/oauth.ts'
import { seedSampleData } from './seed.ts'
import { TokenBatchWriter } from './services/batch-writer.ts'
import { ClientRegistry } from './services/client-registry.ts'
import { injectCost } from './services/inject.ts'
import { JwtService } from './services/jwt.ts'
import { RequestQueue } from './services/request-queue.ts'
import { RevocationWorkerPool, type RevocationJob } from './services/revocation-pool.ts'
import { registerShedding, shedConnectionsAtTheDoor, sheddingEnabled, type DoorCount, type Shedding } from './services/shedding.ts'
import { Sweeper } from './services/sweeper.ts'
import { clusterListening } from './services/cluster-readiness.ts'
import { LocalSweepLock } from './stores/memory-lock.ts'
import { TokenService } from './services/token-service.ts'

export interface AppOptions {
  config: Config
  /** Inject a store, cache or lock (tests, several apps sharing one store); built from config otherwise. */
  store?: Store
  cache?: TokenCache
  sweepLock?: SweepLock
  /** pino options or false; defaults to the config's log level on stderr. */
  logger?: boolean | Record<string, unknown>
}

export interface AuthComponents {
  config: Config
  store: Store
  cache: TokenCache
  service: TokenService
  writer: TokenBatchWriter | null
  revocations: RevocationWorkerPool | null
  queue: RequestQueue | null
  /** Shedding on event-loop pressure; null when off. */
  shedding: Shedding | null
  sweeper: Sweeper
  registry: ClientRegistry
  /** The JWT secret in use (generated when JWT_SECRET is unset): cluster workers must share it. */
  jwtSecret: string
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthComponents
  }
  interface FastifyRequest {
    queueSlot?: boolean
  }
}

/**
 * Never logged, whatever a future log line passes in: credentials travel in these fields. The
 * request serializer already leaves headers and bodies out; this is the second lock.
 */
export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'headers.authorization',
    'body.client_secret',
    'client_secret',
    'jwtSecret',
    'config.jwtSecret',
    'access_token',
    'access_tokens'
  ],
  censor: '[redacted]'
}

function verboseLogs(logger: AppOptions['logger'], level: string): boolean {
  const effective = typeof logger === 'object' && typeof logger.level === 'string' ? logger.level : level
  return logger !== false && (effective === 'debug' || effective === 'trace')
}

let reqCounter = 0
const reqPrefix = randomBytes(4).toString('hex')

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const door: DoorCount = { shed: 0 }
  const app = createFastify(opts, door)
  const { auth, metrics, sweepLock } = await buildComponents(app, opts, door)
  rememberRegistry(app, metrics.registry)
  app.decorate('auth', auth)

  installErrorHandling(app)
  await registerApiRoutes(app, auth, metrics)
  registerOpsRoutes(app, metrics.registry)
  installLifecycleHooks(app, auth, sweepLock)
  return app
}

/** The Fastify instance with our limits, request ids, error shapes and HTTP server; no routes yet. */
function createFastify(opts: AppOptions, door: DoorCount): FastifyInstance {
  const { config } = opts
  return Fastify({
    logger: opts.logger === undefined ? { level: config.logLevel, redact: LOG_REDACT } : opts.logger,
    // Per-request log lines would cost more than some endpoints do: only at debug and trace.
    logController: new LogController({ disableRequestLogging: !verboseLogs(opts.logger, config.logLevel) }),
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    // A cheap unique id: a per-process random prefix and a counter (no UUID on the hot path).
    genReqId: () => `${reqPrefix}-${(++reqCounter).toString(36)}`,
    return503OnClosing: true,
    clientErrorHandler,
    serverFactory: (handler) => {
      const server = createHttpServer(config, handler)
      shedConnectionsAtTheDoor(server, config, door)
      return server
    },
    // A URL Fastify cannot decode (`/%ff`) would otherwise get Fastify's own error shape.
    frameworkErrors: (error, _req, reply) =>
      send(reply, new AuthError('INVALID_REQUEST', { description: error.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid' : 'The request is not valid' })),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 }
  })
}

interface Components {
  auth: AuthComponents
  metrics: AppMetrics
  sweepLock: SweepLock
}

/**
 * The store, cache and services the config names (or the ones the caller injected), and the
 * metrics that read them. Registers the shedding hooks on `app`, which must happen before the routes.
 */
async function buildComponents(app: FastifyInstance, opts: AppOptions, door: DoorCount): Promise<Components> {
  const { config } = opts
  const logger: Logger = app.log
  const jwtSecret = config.jwtSecret ?? generateJwtSecret(logger)

  const store = opts.store ?? (await createStore(config, logger))
  const cache = opts.cache ?? (await createCache(config, logger))
  if (config.seedSampleData) await seedSampleData(store)
  const registry = new ClientRegistry(store)
  await registry.load()

  let service: TokenService | null = null
  const { writer, revocations, queue } = createBackgroundQueues(config, store, logger, (job) => service?.onPersisted(job))
  const sweepLock = opts.sweepLock ?? (await createSweepLock(config, logger))
  const sweeper = new Sweeper(store, sweepLock, { intervalMs: config.sweeperIntervalMs, batchSize: config.sweeperBatchSize, pauseMs: config.sweeperPauseMs, graceMs: 60_000 })

  const storeWithWaits = store as Store & { poolWaitCount?: () => number }
  // Registered before the routes so its onRequest hook runs ahead of the request queue's.
  const shedding = sheddingEnabled(config) ? await registerShedding(app, config, door) : null
  const metrics = createMetrics({
    shed: () => shedding?.stats() ?? null,
    cache: () => cache.stats(),
    writer: () => writer?.stats() ?? null,
    queue: () => queue?.stats() ?? null,
    revocations: () => revocations?.stats() ?? null,
    pool: () => ({ ...store.poolStats(), waits: storeWithWaits.poolWaitCount?.() ?? 0 }),
    sweeper: () => sweeper.stats()
  })

  service = new TokenService({
    config,
    store,
    cache,
    registry,
    writer,
    revocations,
    metrics: metrics.service,
    jwt: new JwtService({ secret: jwtSecret, issuer: config.jwtIssuer, verifierCacheSize: config.cache === 'none' ? 0 : 10_000 }),
    logger
  })
  const auth: AuthComponents = { config, store, cache, service, writer, revocations, queue, shedding, sweeper, registry, jwtSecret }
  return { auth, metrics, sweepLock }
}

function generateJwtSecret(logger: Logger): string {
  logger.warn({ code: 'AUTH_WARN_GENERATED_SECRET' }, 'JWT_SECRET is not set: generated a random one; tokens will not survive a restart')
  return randomBytes(48).toString('base64url')
}

/** The token batch writer, revocation pool and request queue, each null when the config turns it off. */
function createBackgroundQueues(config: Config, store: Store, logger: Logger, onRevocationPersisted: (job: RevocationJob) => void) {
  const writer =
    config.batchSize > 0
      ? new TokenBatchWriter(
          store,
          {
            batchSize: config.batchSize,
            flushIntervalMs: config.batchFlushIntervalMs,
            maxPending: config.batchMaxPending,
            retryBaseMs: config.batchRetryBaseMs,
            retryMaxMs: config.batchRetryMaxMs
          },
          { onFlushError: (err, attempt) => logger.warn({ err, attempt, code: 'AUTH_ERR_BATCH_FLUSH' }, 'token batch flush failed; retrying') }
        )
      : null
  const revocations =
    config.revocationWorkers > 0
      ? new RevocationWorkerPool(
          store,
          {
            workers: config.revocationWorkers,
            capacity: config.revocationQueueCapacity,
            batchSize: config.revocationBatchSize,
            retryBaseMs: config.batchRetryBaseMs,
            retryMaxMs: config.batchRetryMaxMs
          },
          onRevocationPersisted
        )
      : null
  const queue =
    config.queueMaxConcurrent > 0 ? new RequestQueue({ maxConcurrent: config.queueMaxConcurrent, capacity: config.queueCapacity, timeoutMs: config.queueTimeoutMs }) : null
  return { writer, revocations, queue }
}

/** The OAuth routes with their per-route hooks: queue admission, injected cost, timing. */
async function registerApiRoutes(app: FastifyInstance, auth: AuthComponents, metrics: AppMetrics): Promise<void> {
  const { config, queue, service } = auth
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (_req, body, done) => {
    // RFC 6749 §4.4 sends token requests form-encoded, while the API has always taken JSON and
    // its clients still send it: accept both.
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  const apiOnRequest: Array<(req: FastifyRequest, reply: FastifyReply) => Promise<void> | void> = []
  if (config.injectCpuUs > 0 || (config.injectDelayMs > 0 && config.injectDelayRatio > 0)) {
    const hook = injectCost({ cpuUs: config.injectCpuUs, delayMs: config.injectDelayMs, delayRatio: config.injectDelayRatio })
    // preHandler runs after the route's queue admission, so an injected delay holds a queue slot
    // like real work would.
    app.addHook('preHandler', hook)
  }
  if (queue) apiOnRequest.push(queueHook(queue))
  // Timing only on the API routes: a global hook would tax `GET /`, which must stay bare.
  const observe = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const api = (req.routeOptions.config as { api?: string }).api ?? 'unknown'
    metrics.httpDuration.observe({ route: api, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000)
    done()
  }

  await app.register(oauthRoutes, { service, debugRoutes: config.debugRoutes, apiHooks: { onRequest: apiOnRequest, onResponse: [observe] } })
}

/** Start the background work when ready; on close, drain it in dependency order and close the backends. */
function installLifecycleHooks(app: FastifyInstance, auth: AuthComponents, sweepLock: SweepLock): void {
  const { config, store, cache, service, writer, revocations, sweeper } = auth
  app.addHook('onReady', async () => {
    writer?.start()
    revocations?.start()
    sweeper.start()
  })
  // Runs after in-flight requests finished (Fastify closes the server first): nothing new can
  // be issued, so flushing now persists every token and revocation that was acknowledged.
  // server.close() reaps only the connections idle at that moment: keep reaping while in-flight
  // responses finish, or an idle keep-alive socket holds shutdown until keepAliveTimeout.
  let reaper: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    reaper = setInterval(() => app.server.closeIdleConnections(), 25)
    reaper.unref()
  })
  app.addHook('onClose', async () => {
    clearInterval(reaper)
    const deadlineMs = Date.now() + config.shutdownTimeoutMs
    service.close()
    await sweeper.stop()
    await revocations?.close()
    await writer?.close(deadlineMs)
    await logShutdownSummary(app, auth)
    await sweepLock.close()
    await cache.close()
    await store.close()
  })
}

/**
 * What shutdown left behind, for operators and for the fault suite (which checks it against
 * what the load was answered 200): nothing acknowledged may still be pending here.
 */
async function logShutdownSummary(app: FastifyInstance, { store, writer, revocations }: AuthComponents): Promise<void> {
  app.log.info(
    {
      code: 'AUTH_SHUTDOWN_SUMMARY',
      tokensInStore: await store.countTokens().catch(() => null),
      tokensPending: writer?.stats().pending ?? 0,
      tokensFlushed: writer?.stats().tokensFlushed ?? 0,
      revocationsQueued: (revocations?.stats().queued ?? 0) + (revocations?.stats().inFlight ?? 0),
      revocationsPersisted: revocations?.stats().persisted ?? 0
    },
    'shut down'
  )
}

async function createSweepLock(config: Config, logger: Logger): Promise<SweepLock> {
  // Not only INSTANCES > 1: separate processes on several ports (INSTANCES=1 each) share the
  // database too, and each would otherwise sweep it under its own process-local lock.
  if (config.redisUrl && config.store === 'postgres') {
    const { RedisSweepLock } = await import('./cache/redis-lock.ts')
    return RedisSweepLock.connect(config, logger)
  }
  return new LocalSweepLock()
}

function queueHook(queue: RequestQueue) {
  return async function admit(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    let released = false
    const release = (): void => {
      if (released || !req.queueSlot) return
      released = true
      queue.release()
    }
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.once('close', release)
    const slot = queue.acquire()
    if (slot !== true) await slot
    req.queueSlot = true
    if (reply.raw.destroyed || reply.raw.writableEnded) release()
  }
}

/**
 * The HTTP server with the config's connection limits. Node's own check for a missing Host header
 * (RFC 9112 §3.2 requires a 400) answers with an empty body, outside Fastify; it is done here
 * instead so that the 400 has the error shape like every other error.
 */
function createHttpServer(config: Config, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(
    {
      // Node checks header and request deadlines on this interval (30 s by default), so a
      // slow-header socket would otherwise live up to 30 s past HEADERS_TIMEOUT_MS.
      connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
      requireHostHeader: false
    },
    (req, res) => {
      if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
        const body = JSON.stringify({ error: 'invalid_request', error_description: 'The Host header is required', request_id: `${reqPrefix}-h${(++reqCounter).toString(36)}` })
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body)
        return
      }
      handler(req, res)
    }
  )
  server.headersTimeout = config.headersTimeoutMs
  server.requestTimeout = config.requestTimeoutMs
  server.keepAliveTimeout = config.keepAliveTimeoutMs
  if (config.maxConnections > 0) server.maxConnections = config.maxConnections
  return server
}

/**
 * Requests Node's HTTP parser refuses never reach a route: a header timeout, oversized headers,
 * or bytes that are not HTTP. Fastify's default answers them in its own JSON shape; this answers
 * in ours (`{error, error_description, request_id}`), then closes the connection as Node does.
 */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const e = new AuthError(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : 'MALFORMED_HTTP')
  this.log.debug({ code: e.code, parserCode: err.code }, 'client error')
  if (socket.writable) {
    const body = JSON.stringify({ error: e.oauthError, error_description: e.message, request_id: `${reqPrefix}-c${(++reqCounter).toString(36)}` })
    socket.write(
      `HTTP/1.1 ${e.statusCode} ${STATUS_CODES[e.statusCode] ?? 'Error'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`
    )
  }
  socket.destroy()
}

function send(reply: FastifyReply, err: AuthError): FastifyReply {
  if (err.retryAfterS !== undefined) reply.header('retry-after', String(err.retryAfterS))
  if (err.statusCode === 401) reply.header('www-authenticate', `Bearer error="${err.oauthError}"`)
  return reply.code(err.statusCode).type('application/json; charset=utf-8').send({
    error: err.oauthError,
    error_description: err.message,
    request_id: reply.request.id
  })
}

/** Map every error, ours or Fastify's, to the one shape clients parse; nothing internal reaches a client. */
export function toAuthError(error: unknown): AuthError {
  if (error instanceof AuthError) return error
  const e = error as Partial<FastifyError> & { validation?: unknown }
  if (e.validation) return new AuthError('INVALID_REQUEST', { description: `Invalid request: ${sanitise(e.message)}` })
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AuthError('BODY_TOO_LARGE')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AuthError('UNSUPPORTED_MEDIA_TYPE')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AuthError('INVALID_REQUEST', { description: 'The JSON body is empty' })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AuthError('INVALID_REQUEST', { description: 'Invalid Content-Length' })
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new AuthError('INVALID_JSON')
  }
  if (error instanceof SyntaxError || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) return new AuthError('INVALID_JSON')
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AuthError(e.statusCode === 413 ? 'BODY_TOO_LARGE' : e.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'INVALID_REQUEST')
  }
  if (e.statusCode === 503 || e.code === 'AUTH_ERR_STORE' || e.code === 'AUTH_ERR_CACHE') return new AuthError('DEPENDENCY_UNAVAILABLE', { retryAfterS: 1 })
  return new AuthError('INTERNAL')
}

/** Validation messages name the field; keep them short and free of input echoes. */
function sanitise(msg: string | undefined): string {
  return (msg ?? 'invalid').replace(/[^\w /.'"-]/g, '').slice(0, 160)
}

function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, req, reply) => {
    const err = toAuthError(error)
    if (err.statusCode >= 500) req.log.error({ err: error, code: err.code }, 'request failed')
    else req.log.debug({ code: err.code, statusCode: err.statusCode }, 'request rejected')
    return send(reply, err)
  })
  app.setNotFoundHandler((req, reply) => send(reply, new AuthError('NOT_FOUND', { description: `No route ${req.method} ${req.url.split('?')[0]?.slice(0, 100)}` })))
}

function registerOpsRoutes(app: FastifyInstance, registry: Registry): void {
  const ready = async (_req: FastifyRequest, reply: FastifyReply) => {
    if (!clusterListening()) return reply.code(503).header('retry-after', '1').send({ status: 'starting', checks: {}, store: app.auth.store.kind, cache: app.auth.cache.kind })
    const { store, cache } = app.auth
    const check = async (fn: () => Promise<void>): Promise<string> => {
      try {
        await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())])
        return 'ok'
      } catch {
        return 'unavailable'
      }
    }
    const checks = { store: await check(() => store.ping()), cache: await check(() => cache.ping()) }
    const ok = Object.values(checks).every((v) => v === 'ok')
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks, store: store.kind, cache: cache.kind })
  }
  const metrics = async (_req: FastifyRequest, reply: FastifyReply) => reply.type(registry.contentType).send(cluster.isWorker ? await clusterMetrics() : await registry.metrics())
  const stats = async () => {
    const a = app.auth
    return {
      pid: process.pid,
      uptimeS: Math.round(process.uptime()),
      preset: a.config.preset,
      store: a.store.kind,
      cache: a.cache.stats(),
      config: describeConfig(a.config),
      batchWriter: a.writer?.stats() ?? null,
      queue: a.queue?.stats() ?? null,
      shedding: a.shedding?.stats() ?? null,
      revocationPool: a.revocations?.stats() ?? null,
      pool: a.store.poolStats(),
      sweeper: a.sweeper.stats(),
      service: a.service.stats(),
      registry: a.registry.size
    }
  }
  for (const prefix of ['', BASE_PATH]) {
    app.get(`${prefix}/health/ready`, ready)
    app.get(`${prefix}/metrics`, metrics)
    if (app.auth.config.debugRoutes) app.get(`${prefix}/debug/stats`, stats)
  }
}

export { ERRORS }
