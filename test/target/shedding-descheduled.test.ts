// Shedding relieves this process's own overload, not a core it shares: two phase2 targets pinned
// to one core and loaded at the same moments (an A/B duet, or any two services on one core) each
// see their event loop late by the other's turns, yet each uses only half the core, and refusing
// requests would not give it the other half. With the CPU-share guard (SHED_MIN_CPU_SHARE) they
// shed nothing; the own-work case (a turn made long by the process's own CPU) still sheds, in
// shedding.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { canPin, startTarget, type TargetProcess } from '../../harness/engine/target-process.ts'
import { referenceTarget } from '../../scenarios/reference-target.ts'
import { BASE, CLIENT } from './helpers.ts'

const started: TargetProcess[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop().catch(() => undefined)))
})

const token = {
  method: 'POST' as const,
  path: `${BASE}/token`,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ grant_type: 'client_credentials', ...CLIENT }),
  expectedStatuses: [200]
}

async function shedTotal(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const m = /^authbench_shed_total (\d+)/m.exec(text)
  return m === null ? 0 : Number(m[1])
}

describe('shedding on a shared core', () => {
  it('two targets loaded at once on one core shed nothing, and both complete their load', async () => {
    expect(canPin()).toBe(true)
    for (let i = 0; i < 2; i++) started.push(await startTarget({ ...referenceTarget({ PRESET: 'phase2', DEBUG_ROUTES: 'true' }), pinCpus: '0' }))
    const load = { model: 'closed' as const, durationMs: 3_000, warmupMs: 0, connections: 32, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 10_000 }
    const outcomes = await Promise.all(started.map((t) => createClosedDriver().run({ url: t.url, load, nextRequest: () => token, fixedRequest: token })))
    for (const t of started) expect(((await (await fetch(`${t.url}${BASE}/debug/stats`)).json()) as { shedding: unknown }).shedding).toEqual({ shed: 0, byCause: {} })
    for (const o of outcomes) {
      expect(o.requests).toBeGreaterThan(500)
      expect(o.statusCounts['503'] ?? 0).toBe(0)
    }
    for (const t of started) expect(await shedTotal(t.url)).toBe(0)
  }, 60_000)
})
