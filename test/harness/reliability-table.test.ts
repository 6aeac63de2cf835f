// The "Reliability" table in docs/reliability.md is rendered from the fault suite's figures: one row per case,
// in order, a failed case marked, and the conditions (time, load average) stated under it.
import { readFileSync } from 'node:fs'
import { expect, it } from 'vitest'
import { PAGE, renderTable } from '../../scripts/reliability-table.ts'

const row = (id: string, order: number, passed: boolean, recoverMs: number | null) => ({
  id,
  order,
  fault: `fault ${id}`,
  load: 'load | with a pipe',
  lost: '0 tokens',
  recoverMs,
  fiveXx: '0',
  passed,
  notes: `note ${id}`,
  measuredAt: `2026-12-01T22:0${order}:00.000Z`,
  loadAverage: [1.5 + order, 1] as [number, number]
})

it('one row per case in order, pipes escaped, FAIL marked, times in ms or s, conditions stated', () => {
  const text = renderTable([row('b', 2, false, 1_500), row('a', 1, true, 250), row('c', 3, true, null)])
  const lines = text.split('\n')
  expect(lines[0]).toMatch(/^\| case \| injected \| load \| lost \(goal 0\) \| time to recover \| 5xx \| result \|$/)
  expect(lines[2]).toBe('| a | fault a | load \\| with a pipe | 0 tokens | 250 ms | 0 | pass |')
  expect(lines[3]).toContain('| 1.5 s | 0 | **FAIL** |')
  expect(lines[4]).toContain('| — |')
  expect(text).toContain('- a: note a')
  expect(text).toMatch(/Measured 2026-12-01 22:01–22:03 UTC by `npm run test:resilience`; 1-minute load average 2.5–4.5/)
})

it('the page the script rewrites holds the table between its markers', () => {
  const page = readFileSync(new URL(`../../${PAGE}`, import.meta.url), 'utf8')
  const start = page.indexOf('<!-- reliability:start -->')
  expect(start).toBeGreaterThan(-1)
  expect(page.indexOf('<!-- reliability:end -->')).toBeGreaterThan(start)
  expect(page.slice(start)).toMatch(/\| case \| injected \| load \| lost \(goal 0\) \| time to recover \| 5xx \| result \|/)
})
