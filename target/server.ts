// The only module that listens. Loads the config (a bad value stops start-up naming the
// variable, exit 2), builds the app, and shuts down gracefully on SIGTERM/SIGINT: stop accepting,
// finish in-flight requests, flush the batch writer, drain the revocation pool, close pools, exit 0.
// With INSTANCES > 1 it runs a node:cluster primary and that many workers on one port.
import cluster from 'node:cluster'
import { randomBytes } from 'node:crypto'
import closeWithGrace from 'close-with-grace'
import { AggregatorRegistry } from 'prom-client'
import { buildApp } from './app.ts'
import { ALL_LISTENING } from './services/cluster-readiness.ts'
import { loadConfig, type Config } from './config.ts'
import { ConfigError } from './errors.ts'

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`authbench target: invalid configuration: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`authbench target: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
}

async function runWorker(config: Config): Promise<void> {
  const app = await buildApp({ config })
  if (cluster.isWorker) {
    // /metrics must describe the whole target, not one worker: ask the primary to aggregate.
    AggregatorRegistry.setRegistries([(await import('./metrics-cluster.ts')).registryOf(app)])
    // prom-client answers the primary's metrics requests only once an AggregatorRegistry was
    // constructed in this process (its constructor installs the worker's listener); without it
    // every /metrics waited 5 s for the primary and answered 500.
    new AggregatorRegistry()
  }
  closeWithGrace({ delay: config.shutdownTimeoutMs + 2_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an uncaught error')
    else app.log.info({ signal }, 'shutting down')
    // In-flight requests get the shutdown budget; then idle keep-alive sockets are closed so
    // that Fastify's onClose hooks (flush, drain) can run.
    const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownTimeoutMs)
    force.unref()
    app.server.closeIdleConnections()
    await app.close()
  })
  const address = await app.listen({ port: config.port, host: config.host })
  app.log.info({ address, preset: config.preset, store: config.store, cache: config.cache, pid: process.pid }, 'authbench target listening')
  if (!cluster.isWorker) process.stderr.write(`authbench target listening on ${address} (preset ${config.preset}, store ${config.store}, cache ${config.cache})\n`)
}

async function runPrimary(config: Config): Promise<void> {
  // Every worker must verify every other worker's tokens: share one secret.
  if (!process.env.JWT_SECRET) process.env.JWT_SECRET = randomBytes(48).toString('base64url')
  const aggregator = new AggregatorRegistry()
  let stopping = false
  let ready = 0
  const fork = (): void => {
    const w = cluster.fork()
    w.on('message', async (msg: { type?: string; id?: number }) => {
      if (msg?.type !== 'authbench:metrics') return
      try {
        const body = (await aggregator.clusterMetrics()) as string
        w.send({ type: 'authbench:metrics:reply', id: msg.id, body })
      } catch (err) {
        w.send({ type: 'authbench:metrics:reply', id: msg.id, error: String(err) })
      }
    })
    w.on('listening', () => {
      ready++
      if (ready < config.instances) return
      if (ready === config.instances) {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.send({ type: ALL_LISTENING })
        process.stderr.write(
          `authbench target listening on http://${config.host}:${config.port} (${config.instances} instances, preset ${config.preset}, store ${config.store}, cache ${config.cache})\n`
        )
      } else {
        // A worker restarted after the others were up.
        w.send({ type: ALL_LISTENING })
      }
    })
  }
  for (let i = 0; i < config.instances; i++) fork()
  let failed = false
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0)
      return
    }
    process.stderr.write(`authbench target: worker ${worker.process.pid} exited (code ${code}, signal ${signal}); restarting it\n`)
    fork()
  })
  const stop = (): void => {
    if (stopping) return
    stopping = true
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM')
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

let config: Config
try {
  config = loadConfig()
} catch (err) {
  fail(err)
}
if (config.instances > 1 && cluster.isPrimary) runPrimary(config).catch(fail)
else runWorker(config).catch(fail)
