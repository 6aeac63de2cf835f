// `authbench run` option parsing: defaults, durations, and bad input named in a usage error.
import { describe, expect, it } from 'vitest'
import { parseDurationMs, parseRunOptions } from '../../harness/cli/commands/run-options.ts'
import { isAuthbenchError } from '../../harness/errors.ts'
import { DEFAULT_COMPARE_SETTINGS } from '../../harness/stats/verdict.ts'
import { loadConfig } from '../../harness/config.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'

// The repository's own config: the auth target and its six scenarios.
const config = await loadConfig({ cwd: REPO_ROOT })

function usageError(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(isAuthbenchError(err) && err.usage).toBe(true)
    return (err as Error).message
  }
  throw new Error('expected a usage error')
}

describe('run options', () => {
  it('defaults to every scenario, closed model, 3 trials (what compare needs) of 4 s with 1 s warm-up', () => {
    const o = parseRunOptions({}, config)
    expect(o.scenarios.map((s) => s.scenario.name)).toEqual(['health', 'token', 'ott', 'validate', 'revoke', 'mixed', 'client-session', 'ott-flow'])
    expect(o.trials).toBe(3)
    expect(o.trials).toBeGreaterThanOrEqual(DEFAULT_COMPARE_SETTINGS.minTrials)
    expect(o.scenarios[0]?.load).toMatchObject({ model: 'closed', durationMs: 4_000, warmupMs: 1_000, pipelining: 1, rateRps: null })
    expect(o.outDir).toBe('reports')
  })

  it("takes a command's own defaults as numbers, which an option given on the command line overrides", () => {
    const typed = { durationMs: 2_500, warmupMs: 0, trials: 7, rateRps: 900 }
    const o = parseRunOptions({ scenario: ['health'] }, config, typed)
    expect(o.trials).toBe(7)
    expect(o.scenarios[0]?.load).toMatchObject({ model: 'open', durationMs: 2_500, warmupMs: 0, rateRps: 900 })
    const given = parseRunOptions({ scenario: ['health'], duration: '1s', warmup: '200ms', trials: '4', rate: '50' }, config, typed)
    expect(given.trials).toBe(4)
    expect(given.scenarios[0]?.load).toMatchObject({ durationMs: 1_000, warmupMs: 200, rateRps: 50 })
  })

  it('--warmup-max bounds the warm-up until steady, and may not be shorter than --warmup', () => {
    expect(parseRunOptions({ scenario: ['health'] }, config).scenarios[0]?.load.warmupMaxMs).toBeUndefined()
    expect(parseRunOptions({ scenario: ['health'], warmup: '2s', warmupMax: '2s' }, config).scenarios[0]?.load.warmupMaxMs).toBe(2_000)
    expect(() => parseRunOptions({ scenario: ['health'], warmup: '2s', warmupMax: '1s' }, config)).toThrow(/--warmup-max 1s is shorter than the warm-up/)
  })

  it('parses 500ms, 5s, 1m and bare seconds', () => {
    expect(parseDurationMs('--duration', '500ms', false)).toBe(500)
    expect(parseDurationMs('--duration', '5s', false)).toBe(5_000)
    expect(parseDurationMs('--duration', '1m', false)).toBe(60_000)
    expect(parseDurationMs('--duration', '2', false)).toBe(2_000)
    expect(parseDurationMs('--warmup', '0s', true)).toBe(0)
  })

  it('takes repeated and comma-listed scenarios, and --rate switches to the open model', () => {
    const o = parseRunOptions({ scenario: ['health,token', 'validate'], rate: '2000' }, config)
    expect(o.scenarios.map((s) => s.scenario.name)).toEqual(['health', 'token', 'validate'])
    expect(o.scenarios[0]?.load).toMatchObject({ model: 'open', rateRps: 2_000 })
  })

  it('names the bad option', () => {
    expect(usageError(() => parseRunOptions({ scenario: ['nope'] }, config))).toContain('"nope"')
    expect(usageError(() => parseRunOptions({ duration: 'soon' }, config))).toContain('--duration')
    expect(usageError(() => parseRunOptions({ trials: '0' }, config))).toContain('--trials')
    expect(usageError(() => parseRunOptions({ targetOptions: { store: 'mysql' } }, config))).toContain('--store')
    expect(usageError(() => parseRunOptions({ targetOptions: { cache: 'disk' } }, config))).toContain('--cache')
    expect(usageError(() => parseRunOptions({ targetOptions: { colour: 'red' } }, config))).toContain('--colour means nothing')
    expect(usageError(() => parseRunOptions({ variant: 'turbo' }, config))).toContain('--variant')
    expect(usageError(() => parseRunOptions({ targetEnv: ['nokey'] }, config))).toContain('--target-env')
    expect(usageError(() => parseRunOptions({ rate: '100', pipelining: '4' }, config))).toContain('--pipelining')
    expect(usageError(() => parseRunOptions({ url: 'http://127.0.0.1:3000', variant: 'baseline' }, config))).toContain('--variant')
    expect(usageError(() => parseRunOptions({ url: 'http://127.0.0.1:3000', targetOptions: { store: 'postgres' } }, config))).toContain('--store')
    expect(usageError(() => parseRunOptions({ scenario: ['validate'], scenarioParam: ['validate.invalidShare=2'] }, config))).toContain('invalidShare')
    expect(usageError(() => parseRunOptions({ scenario: ['health'], scenarioParam: ['validate.invalidShare=0.1'] }, config))).toContain('not being run')
  })
})
