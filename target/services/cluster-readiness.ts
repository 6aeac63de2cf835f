// In cluster mode the primary hands each new connection to the listening workers in turn. A
// worker that answered the readiness probe before the others listened would take the start of a
// benchmark alone (load starts once the readiness path answers, and keep-alive connections stay
// with the worker that accepted them). So a worker is ready only once the primary has seen every
// worker listen and said so.
import cluster from 'node:cluster'

export const ALL_LISTENING = 'authbench:all-listening'

let allListening = !cluster.isWorker
if (cluster.isWorker) {
  process.on('message', (msg: unknown) => {
    if ((msg as { type?: unknown } | null)?.type === ALL_LISTENING) allListening = true
  })
}

/** True outside a cluster; in a worker, once the primary reported every worker listening. */
export function clusterListening(): boolean {
  return allListening
}
