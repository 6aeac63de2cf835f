// End to end: `authbench ab` between presets baseline and phase2 on the real target, short
// (1 scenario, 3 pairs of 1 s trials) because the machine is shared. Checks the interleaving
// (arms, pairs, a fresh target per arm config), the result file against the schema, the four
// reports, and that the exit code is the comparison's.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { XMLParser } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { runAb } from '../../harness/cli/commands/ab.ts'
import { compareAB } from '../../harness/reporters/headline.ts'
import { readResult } from '../../harness/result-io.ts'
import { resolveCompareSettings } from '../../harness/stats/verdict.ts'

describe('authbench ab (end to end)', () => {
  it('interleaves baseline and phase2, writes result.json with arm and pair, the reports, and exits with the verdict', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-ab-'))
    const summary = path.join(out, 'step-summary.md')
    let stdout = ''
    let stderr = ''
    const io = { stdout: (t: string) => void (stdout += t), stderr: (t: string) => void (stderr += t) }
    // minTrials 3 so that three pairs give a real verdict (the default gate wants more pairs);
    // no rank-test requirement, which three pairs could never satisfy.
    const settings = resolveCompareSettings({ minTrials: 3, requireSignificance: false })
    const outcome = await runAb({ a: 'baseline', b: 'phase2', scenario: ['health'], trials: '3', duration: '1s', warmup: '300ms', out, seed: '5', calibration: false }, io, {
      pin: false,
      settings,
      env: { GITHUB_STEP_SUMMARY: summary }
    })
    expect(stderr).not.toMatch(/does not match the schema/)
    expect([0, 1], stderr).toContain(outcome.exitCode)

    const dirs = readdirSync(out).filter((d) => d.endsWith('-ab-baseline-vs-phase2'))
    expect(dirs).toHaveLength(1)
    const dir = path.join(out, dirs[0] as string)
    expect(readdirSync(dir).sort()).toEqual(['junit.xml', 'report.html', 'report.md', 'result.json'])

    const result = await readResult(path.join(dir, 'result.json'))
    expect(result.kind).toBe('ab')
    expect(result.trials).toHaveLength(6)
    expect(result.trials.map((t) => t.trial)).toEqual([0, 1, 2, 3, 4, 5])
    for (const pair of [0, 1, 2])
      expect(
        result.trials
          .filter((t) => t.pair === pair)
          .map((t) => t.arm)
          .sort()
      ).toEqual(['A', 'B'])
    expect(result.trials.every((t) => t.validity.state === 'valid' && t.requests > 100 && (t.server?.cpuUsPerRequest ?? 0) > 0)).toBe(true)
    // Each arm really ran its own config: the target reported it.
    const arms = (result.environment.targetConfig as { arms: Record<'A' | 'B', { spec: string; config: { preset: string; cache: string } | null }> }).arms
    expect(arms.A).toMatchObject({ spec: 'baseline', config: { preset: 'baseline', cache: 'none' } })
    expect(arms.B).toMatchObject({ spec: 'phase2', config: { preset: 'phase2', cache: 'lru' } })

    // The comparison in the file is the paired one, and the exit code follows its verdict.
    expect(result.comparison?.mode).toBe('ab')
    expect(result.comparison?.method.unitOfAnalysis).toBe('pair')
    expect(result.comparison?.scenarios[0]?.baselineTrials).toBe(3)
    expect(result.comparison?.scenarios[0]?.pairs).toBe(3)
    expect(outcome.exitCode).toBe(result.comparison?.exitCode)
    expect(result.comparison?.verdict).not.toBe('invalid')
    expect(stdout).toContain(result.comparison?.headline)

    const markdown = readFileSync(path.join(dir, 'report.md'), 'utf8')
    expect(markdown).toContain('health')
    expect(readFileSync(summary, 'utf8')).toContain(markdown.split('\n')[0])
    // junit.xml: one suite for the scenario, one case per gated metric, each failure a regression.
    type Case = { '@_name': string; failure?: unknown }
    const junit = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testcase' }).parse(readFileSync(path.join(dir, 'junit.xml'), 'utf8')) as {
      testsuites: { '@_tests': string; '@_failures': string; testsuite: { '@_name': string; testcase: Case[] } }
    }
    const gated = result.comparison?.scenarios[0]?.metrics.filter((m) => m.gated) ?? []
    expect(junit.testsuites.testsuite['@_name']).toBe('authbench health')
    expect(junit.testsuites.testsuite.testcase.map((c) => c['@_name'])).toHaveLength(gated.length)
    expect(Number(junit.testsuites['@_tests'])).toBe(gated.length)
    expect(junit.testsuites.testsuite.testcase.filter((c) => c.failure !== undefined)).toHaveLength(gated.filter((m) => m.verdict === 'regression').length)
    // Every report states what the run could have detected.
    expect(markdown).toContain('| detectable |')
    expect(gated.every((m) => m.verdict === 'invalid' || m.sensitivity !== undefined)).toBe(true)
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/<html/i)

    // With the default gate settings three pairs are too few: the verdict says so (exit 2).
    const strict = compareAB(result, { settings: resolveCompareSettings({ minTrials: 6 }) })
    expect(strict.verdict).toBe('invalid')
    expect(strict.exitCode).toBe(2)
    expect(strict.scenarios[0]?.notes.join(' ')).toMatch(/too few complete valid pairs/)
    // The default is a duet: both arms' targets are under load at the same moments, so the two
    // trials of a pair start together (one after the other they would be a restart, a warm-up
    // and a measured phase apart; slot-interleaved, one 500 ms slot apart).
    expect(stderr).toContain('duet: both arms')
    for (const pair of [0, 1, 2]) {
      const [first, second] = result.trials.filter((t) => t.pair === pair).sort((x, y) => x.startedAt.localeCompare(y.startedAt))
      const gapMs = Date.parse(second?.startedAt ?? '') - Date.parse(first?.startedAt ?? '')
      expect(gapMs).toBeGreaterThanOrEqual(0)
      expect(gapMs).toBeLessThan(250)
    }
  }, 90_000)

  it('with --slot 0 runs the two trials of a pair one after the other, each on its own target', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-ab-seq-'))
    const io = { stdout: () => undefined, stderr: () => undefined }
    const settings = resolveCompareSettings({ minTrials: 1, requireSignificance: false })
    const outcome = await runAb({ a: 'phase2', b: 'phase2', scenario: ['health'], trials: '1', duration: '600ms', warmup: '200ms', slot: '0', out, calibration: false }, io, {
      pin: false,
      settings,
      env: {}
    })
    const result = outcome.result
    expect(result?.trials.map((t) => t.arm).sort()).toEqual(['A', 'B'])
    const [first, second] = [...(result?.trials ?? [])].sort((x, y) => x.startedAt.localeCompare(y.startedAt))
    // The second trial starts after the first one's measured time, not inside it.
    expect(Date.parse(second?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(first?.startedAt ?? '') + (first?.durationMs ?? 0) - 50)
  }, 60_000)
})
