// Prometheus metrics (prom-client) on a registry of the app's own, so two apps in one process
// (tests) never collide. Figures that live in the components (cache, writer, queue, pool) are
// read at scrape time instead of being counted twice on the hot path.
import client from 'prom-client'
import type { PoolStats } from './domain.ts'
import type { ServiceMetrics } from './services/token-service.ts'

export interface MetricSources {
  cache: () => { hits: number; misses: number; evictions: number; errors: number; entries: number }
  writer: () => { pending: number; flushes: number; flushFailures: number; tokensFlushed: number; rejected: number } | null
  queue: () => { active: number; waiting: number; rejectedFull: number; rejectedTimeout: number } | null
  shed?: () => { shed: number } | null
  revocations: () => { queued: number; persisted: number; failures: number } | null
  pool: () => PoolStats & { waits: number }
  sweeper: () => { runs: number; deletedTotal: number; skippedTotal: number }
}

/** A counter whose value is read from a component's own monotonic count at scrape time. */
function mirroredCounter(registry: client.Registry, name: string, help: string, read: () => number, labels: Record<string, string> = {}): void {
  let last = 0
  new client.Counter({
    name,
    help,
    registers: [registry],
    labelNames: Object.keys(labels),
    collect() {
      const v = read()
      if (v > last) this.inc(labels, v - last)
      last = v
    }
  })
}

function gauge(registry: client.Registry, name: string, help: string, read: () => number): void {
  new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read())
    }
  })
}

export interface AppMetrics {
  registry: client.Registry
  service: ServiceMetrics
  httpDuration: client.Histogram<'route' | 'method' | 'status'>
}

export function createMetrics(sources: MetricSources): AppMetrics {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })

  const issued = new client.Counter({ name: 'authbench_tokens_issued_total', help: 'Tokens issued, by type (N normal, O one-time)', labelNames: ['type'], registers: [registry] })
  const validations = new client.Counter({ name: 'authbench_validations_total', help: 'Validate outcomes', labelNames: ['outcome'], registers: [registry] })
  const revocations = new client.Counter({
    name: 'authbench_revocations_total',
    help: 'Revocations accepted, by how they were persisted',
    labelNames: ['mode'],
    registers: [registry]
  })
  const serviceCacheErrors = new client.Counter({
    name: 'authbench_service_cache_errors_total',
    help: 'Cache operations that failed and fell through to the store',
    registers: [registry]
  })
  const httpDuration = new client.Histogram({
    name: 'authbench_http_request_duration_seconds',
    help: 'Request latency by route',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
  })

  mirroredCounter(registry, 'authbench_cache_hits_total', 'Token cache hits', () => sources.cache().hits)
  mirroredCounter(registry, 'authbench_cache_misses_total', 'Token cache misses', () => sources.cache().misses)
  mirroredCounter(registry, 'authbench_cache_evictions_total', 'Token cache evictions (size bound)', () => sources.cache().evictions)
  mirroredCounter(registry, 'authbench_cache_errors_total', 'Token cache backend errors', () => sources.cache().errors)
  gauge(registry, 'authbench_cache_entries', 'Token cache entries', () => sources.cache().entries)

  mirroredCounter(registry, 'authbench_batch_flushes_total', 'Batch writer flushes that succeeded', () => sources.writer()?.flushes ?? 0)
  mirroredCounter(registry, 'authbench_batch_flush_failures_total', 'Batch writer flushes that failed (and were retried)', () => sources.writer()?.flushFailures ?? 0)
  mirroredCounter(registry, 'authbench_batch_tokens_flushed_total', 'Tokens persisted by the batch writer', () => sources.writer()?.tokensFlushed ?? 0)
  mirroredCounter(registry, 'authbench_batch_rejections_total', 'Tokens refused with 503 because the pending bound was reached', () => sources.writer()?.rejected ?? 0)
  gauge(registry, 'authbench_batch_pending', 'Tokens waiting to be persisted', () => sources.writer()?.pending ?? 0)

  mirroredCounter(registry, 'authbench_queue_rejections_total', 'Requests refused with 429 by the request queue (full or timed out)', () => {
    const q = sources.queue()
    return q ? q.rejectedFull + q.rejectedTimeout : 0
  })
  mirroredCounter(registry, 'authbench_shed_total', 'API requests shed with 503 on event-loop pressure', () => sources.shed?.()?.shed ?? 0)
  gauge(registry, 'authbench_queue_depth', 'Requests waiting in the request queue', () => sources.queue()?.waiting ?? 0)
  gauge(registry, 'authbench_queue_active', 'Requests running under the request queue', () => sources.queue()?.active ?? 0)

  gauge(registry, 'authbench_revocation_queue_depth', 'Revocation jobs waiting for a worker', () => sources.revocations()?.queued ?? 0)
  mirroredCounter(registry, 'authbench_revocations_persisted_total', 'Revocation jobs persisted by the worker pool', () => sources.revocations()?.persisted ?? 0)
  mirroredCounter(registry, 'authbench_revocation_failures_total', 'Revocation persist attempts that failed (and were retried)', () => sources.revocations()?.failures ?? 0)

  gauge(registry, 'authbench_pool_connections', 'Database pool: open connections', () => sources.pool().total)
  gauge(registry, 'authbench_pool_idle', 'Database pool: idle connections', () => sources.pool().idle)
  gauge(registry, 'authbench_pool_waiting', 'Database pool: queries waiting for a connection', () => sources.pool().waiting)
  mirroredCounter(registry, 'authbench_pool_waits_total', 'Database pool acquisitions that had to wait', () => sources.pool().waits)

  mirroredCounter(registry, 'authbench_sweeper_runs_total', 'Sweeper ticks', () => sources.sweeper().runs)
  mirroredCounter(registry, 'authbench_sweeper_deleted_total', 'Expired tokens deleted by the sweeper', () => sources.sweeper().deletedTotal)
  mirroredCounter(registry, 'authbench_sweeper_skipped_total', 'Sweeper ticks skipped because another instance held the lock', () => sources.sweeper().skippedTotal)

  return {
    registry,
    httpDuration,
    service: {
      tokenIssued: (type) => issued.inc({ type }),
      validation: (outcome) => validations.inc({ outcome }),
      revocation: (mode) => revocations.inc({ mode }),
      cacheError: () => serviceCacheErrors.inc()
    }
  }
}
