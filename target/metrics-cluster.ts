// With several instances (node:cluster), a worker's /metrics asks the primary for the metrics
// of every worker summed (prom-client's AggregatorRegistry), so CPU per request and the counters
// the harness diffs describe the whole target.
import cluster from 'node:cluster'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

const registries = new WeakMap<FastifyInstance, Registry>()
let nextId = 1
const waiting = new Map<number, (r: { body?: string; error?: string }) => void>()

export function rememberRegistry(app: FastifyInstance, registry: Registry): void {
  registries.set(app, registry)
}

export function registryOf(app: FastifyInstance): Registry {
  const r = registries.get(app)
  if (!r) throw new Error('no metrics registry recorded for this app')
  return r
}

if (cluster.isWorker) {
  process.on('message', (msg: { type?: string; id?: number; body?: string; error?: string }) => {
    if (msg?.type !== 'authbench:metrics:reply' || msg.id === undefined) return
    waiting.get(msg.id)?.(msg)
    waiting.delete(msg.id)
  })
}

/** The cluster-wide metrics text, from the primary; rejects after `timeoutMs`. */
export function clusterMetrics(timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = nextId++
    const timer = setTimeout(() => {
      waiting.delete(id)
      reject(new Error('timed out waiting for the cluster primary'))
    }, timeoutMs)
    waiting.set(id, (r) => {
      clearTimeout(timer)
      if (r.body !== undefined) resolve(r.body)
      else reject(new Error(r.error ?? 'cluster metrics failed'))
    })
    process.send?.({ type: 'authbench:metrics', id })
  })
}
