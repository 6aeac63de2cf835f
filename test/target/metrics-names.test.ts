// Prometheus reserves the `_total` suffix for counters: a gauge named `…_total` is read as a
// counter by rate() and flagged by `promtool check metrics`. Checked on the target's real /metrics.
import { afterEach, expect, it } from 'vitest'
import { closeAllApps, makeApp } from './helpers.ts'

afterEach(closeAllApps)

it('every authbench_ counter ends in _total and no other authbench_ metric does (prom-client defaults are not ours)', async () => {
  const app = await makeApp()
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1] as string, type: m[2] as string })).filter((t) => t.name.startsWith('authbench_'))
  expect(types.length).toBeGreaterThan(10)
  expect(types.map((t) => t.name)).toContain('authbench_pool_connections')
  for (const { name, type } of types) {
    if (type === 'counter') expect(name, name).toMatch(/_total$/)
    else expect(name, `${name} (${type})`).not.toMatch(/_total$/)
  }
})
