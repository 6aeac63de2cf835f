// The summary printer is a pure function of the result: a fixture file prints a fixed table.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { formatLatencyUs, formatSummary } from '../../harness/reporters/print-summary.ts'
import type { RunResult } from '../../harness/types.ts'

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')

describe('formatSummary', () => {
  it('prints the fixture result as the expected table', () => {
    const result = JSON.parse(fixture('summary-result.json')) as RunResult
    expect(formatSummary(result)).toBe(fixture('summary-expected.txt'))
  })

  it('says when a run was aborted and how many trials it kept', () => {
    const result = JSON.parse(fixture('summary-result.json')) as RunResult
    const text = formatSummary({ ...result, aborted: { code: 'AUTHBENCH_ERR_TARGET_CRASHED', reason: 'target exited\n--- stderr ---\nboom' } })
    expect(text).toContain('RUN ABORTED (AUTHBENCH_ERR_TARGET_CRASHED): target exited; 2 trial(s) kept')
    expect(text).not.toContain('boom')
  })

  it('formats sub-millisecond latencies without rounding them to zero', () => {
    expect(formatLatencyUs(300)).toBe('0.300 ms')
    expect(formatLatencyUs(2_450)).toBe('2.45 ms')
    expect(formatLatencyUs(101_600)).toBe('101.6 ms')
    expect(formatLatencyUs(2_500_000)).toBe('2.50 s')
  })
})
