// End to end: `authbench baseline` on one short scenario writes reports/baseline.json (kind
// 'baseline', schema-valid) and BASELINE_REPORT.md from that same run; a bad option changes nothing.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { baselineCommand } from '../../harness/cli/commands/baseline.ts'
import { readResult } from '../../harness/result-io.ts'

function capture(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; err: () => string } {
  let err = ''
  return { io: { stdout: () => undefined, stderr: (t) => void (err += t) }, err: () => err }
}

describe('authbench baseline (end to end)', () => {
  it('writes baseline.json and regenerates the report from the same run', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-baseline-'))
    const report = path.join(out, 'BASELINE_REPORT.md')
    const c = capture()
    const code = await baselineCommand({ scenario: ['health'], trials: '2', duration: '1s', warmup: '300ms', calibration: false, progress: false, out, report }, c.io)
    expect(code, c.err()).toBe(0)
    const baseline = await readResult(path.join(out, 'baseline.json'))
    expect(baseline.kind).toBe('baseline')
    expect(baseline.trials).toHaveLength(2)
    // The dated run is kept beside it, the same measurements.
    const dated = readdirSync(out).filter((d) => d.endsWith('-baseline'))
    expect(dated).toHaveLength(1)
    const run = await readResult(path.join(out, dated[0] as string, 'result.json'))
    expect(run.trials.map((t) => t.throughputRps)).toEqual(baseline.trials.map((t) => t.throughputRps))

    const text = readFileSync(report, 'utf8')
    const row = text.split('\n').find((l) => l.startsWith('| health |'))
    expect(row).toContain(new Intl.NumberFormat('en-US').format(Math.round(baseline.summary[0]?.throughputRps ?? 0)))
    expect(text).toContain('](baseline.json)')
    expect(text).toContain('npx authbench baseline --scenario health --trials 2 --duration 1s --warmup 300ms --no-calibration')
    expect(text).toContain(baseline.environment.cpuModel)
  }, 60_000)

  it('a bad option is a usage error and leaves no baseline behind', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'authbench-e2e-baseline-bad-'))
    await expect(baselineCommand({ scenario: ['nope'], out, report: path.join(out, 'r.md') }, capture().io)).rejects.toMatchObject({ usage: true })
    expect(existsSync(path.join(out, 'baseline.json'))).toBe(false)
    expect(existsSync(path.join(out, 'r.md'))).toBe(false)
  })
})
