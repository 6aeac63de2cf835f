// BASELINE_REPORT.md renderer on a fixture run: the table in the original report's manner plus
// p99.9, response size and CPU µs/req, the fingerprint, the config and how to reproduce it.
import { describe, expect, it } from 'vitest'
import { reproduceCommand } from '../../harness/cli/commands/baseline.ts'
import { renderBaselineReport } from '../../harness/reporters/baseline-report.ts'
import { makeRun } from '../fixtures/results/build.ts'

const run = makeRun({
  label: 'baseline',
  seed: 11,
  kind: 'baseline',
  scenarios: {
    health: { trials: 3, throughputRps: 21_000, p50Us: 450, cpuUsPerRequest: 38 },
    validate: { trials: 3, throughputRps: 9_000, p50Us: 1_900, cpuUsPerRequest: 96, errorRate: 0.001, invalidTrials: [2] }
  }
})
const options = { command: 'npx authbench baseline --trials 3', resultPath: 'reports/baseline.json', scenarioDescriptions: { health: 'GET / (200 "ok")' } }

describe('renderBaselineReport', () => {
  const text = renderBaselineReport(run, options)

  it('matches the checked-in fixture', async () => {
    await expect(text).toMatchFileSnapshot('./fixtures/baseline-report.md')
  })

  it('is pure: the same run gives the same text', () => {
    expect(renderBaselineReport(structuredClone(run), options)).toBe(text)
  })

  it('has one row per endpoint with the summary figures', () => {
    const health = run.summary.find((s) => s.scenario === 'health')!
    const row = text.split('\n').find((line) => line.startsWith('| health |'))!
    const cells = row.split('|').map((c) => c.trim())
    expect(cells[2]).toBe('GET / (200 "ok")')
    expect(cells[3]).toBe(new Intl.NumberFormat('en-US').format(Math.round(health.throughputRps)))
    expect(cells[6]).toBe((health.latencyUs.p50 / 1000).toFixed(2))
    expect(cells[8]).toBe((health.latencyUs.p99 / 1000).toFixed(2))
    expect(cells[9]).toBe((health.latencyUs.p999 / 1000).toFixed(2))
    expect(cells[11]).toBe('100%')
    expect(cells[12]).toBe('120')
    expect(cells[13]).toBe(health.cpuUsPerRequest!.toFixed(1))
    const validate = text.split('\n').find((line) => line.startsWith('| validate |'))!
    expect(validate.split('|')[2]?.trim()).toBe('—')
    expect(validate).toContain('99.90%')
    expect(validate).toContain('2/3 valid')
  })

  it('lists invalid trials, the fingerprint, the target config and the way to reproduce', () => {
    expect(text).toMatch(/validate trial 3: ERROR_RATE/)
    expect(text).toContain('| CPU | Fixture CPU @ 2.0GHz × 2 |')
    expect(text).toContain('| Node.js | v20.18.0 |')
    expect(text).toContain('0123456789abcdef0123456789abcdef01234567')
    expect(text).toContain('Variant `baseline`, store `memory`, cache `lru`.')
    expect(text).toContain('"preset": "baseline"')
    expect(text).toMatch(/```sh\nnpm ci\nnpx authbench baseline --trials 3\n```/)
    // What each scenario sends is its own description, not the report's: it says nothing of tokens.
    expect(text).toContain('Each scenario sends what its own description below says')
    expect(text).not.toMatch(/token|OTT|store `default`/i)
  })
})

describe('reproduceCommand', () => {
  it('repeats the flags given, in a fixed order, quoting what needs it', () => {
    expect(reproduceCommand({})).toBe('npx authbench baseline')
    expect(
      reproduceCommand({
        trials: '5',
        scenario: ['health', 'validate'],
        variant: 'phase1',
        targetOptions: { store: 'postgres' },
        targetEnv: ['JWT_ISSUER=a b'],
        calibration: false
      })
    ).toBe('npx authbench baseline --scenario health --scenario validate --trials 5 --variant phase1 --store postgres --target-env "JWT_ISSUER=a b" --no-calibration')
  })
})
