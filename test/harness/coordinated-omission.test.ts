// Coordinated omission made visible: against a server that holds every response for 200 ms once
// a second, the open model (latency from the intended send time) shows the stall in its p99; the
// closed model stops sending while it waits, so the stall touches only a handful of its samples.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import type { RequestSpec } from '../../harness/engine/drivers/types.ts'
import { summarizeEncoded } from '../../harness/stats/recorder.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { stallingServer } from './helpers/servers.ts'
import type { TestServer } from './helpers/servers.ts'

const STALL_MS = 200
const ok: RequestSpec = { method: 'GET', path: '/', expectedStatuses: [200] }
const base: LoadSettings = { model: 'open', durationMs: 3000, warmupMs: 200, connections: 20, pipelining: 1, rateRps: 500, maxRequests: null, timeoutMs: 5000 }

let server: TestServer
beforeAll(async () => {
  server = await stallingServer(STALL_MS)
})
afterAll(async () => {
  await server.close()
})

it('the open model shows a 200 ms stall in p99; the closed model under-reports it', { timeout: 20_000 }, async () => {
  const open = await new OpenDriver().run({ url: server.url, load: base, nextRequest: () => ok })
  const closed = await new ClosedDriver().run({ url: server.url, load: { ...base, model: 'closed', connections: 2, rateRps: null }, nextRequest: () => ok })
  const openP99 = summarizeEncoded(open.histogram).p99
  const closedP99 = summarizeEncoded(closed.histogram).p99

  expect(open.errors).toBe(0)
  expect(closed.errors).toBe(0)
  expect(openP99).toBeGreaterThanOrEqual(150_000)
  expect(closedP99 * 3).toBeLessThan(openP99)
  // Both saw the stall: the closed model's max is as long, only its percentiles hide it.
  expect(summarizeEncoded(closed.histogram).max).toBeGreaterThanOrEqual(100_000)
})
