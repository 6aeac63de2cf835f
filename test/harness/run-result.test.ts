import { describe, expect, it } from 'vitest'
import { buildRunResult } from '../../harness/engine/run-result.ts'
import type { RunResultParts } from '../../harness/engine/run-result.ts'
import { createRng } from '../../harness/stats/stats.ts'
import { RESULT_SCHEMA_VERSION } from '../../harness/types.ts'
import { FIXTURE_ENVIRONMENT, FIXTURE_LOAD, makeTrial } from '../fixtures/results/build.ts'

const { targetConfig: _config, cpuPinning: _pinning, ...fingerprint } = FIXTURE_ENVIRONMENT
const rng = createRng(7)
const fast = { trials: 1, throughputRps: 9000, p50Us: 400, samplesPerTrial: 200 }
const slow = { trials: 1, throughputRps: 3000, p50Us: 1200, samplesPerTrial: 200 }

const parts = (over: Partial<RunResultParts> = {}): RunResultParts => ({
  kind: 'ab',
  label: 'l',
  createdAt: '2026-12-02T00:00:00.000Z',
  fingerprint: { ...fingerprint, targetOptions: { store: 'from-command', cache: 'from-command' } },
  targetConfig: null,
  cpuPinning: { target: '0', generator: '1' },
  scenarios: [
    { scenario: { name: 'health' }, load: FIXTURE_LOAD },
    { scenario: { name: 'token' }, load: { ...FIXTURE_LOAD, connections: 3 } }
  ],
  trials: [
    makeTrial('health', 0, slow, rng, { arm: 'A', pair: 0 }),
    makeTrial('health', 1, fast, rng, { arm: 'B', pair: 0 }),
    makeTrial('token', 0, slow, rng, { arm: 'A', pair: 0 })
  ],
  calibration: null,
  aborted: null,
  ...over
})

describe('buildRunResult', () => {
  it('fills the envelope, the load per scenario and a summary per scenario, in the run order', () => {
    const result = buildRunResult(parts())
    expect(result).toMatchObject({ schemaVersion: RESULT_SCHEMA_VERSION, tool: 'authbench', kind: 'ab', label: 'l', scenarios: ['health', 'token'] })
    expect(result.load.token?.connections).toBe(3)
    expect(result.summary.map((s) => [s.scenario, s.trials])).toEqual([
      ['health', 2],
      ['token', 1]
    ])
    expect(result.environment.cpuPinning).toEqual({ target: '0', generator: '1' })
    expect('counters' in result).toBe(false)
  })

  it('summarises only the trials asked for (the candidate arm), while keeping every trial', () => {
    const result = buildRunResult(parts({ summarizes: (t) => t.arm === 'B' }))
    expect(result.trials).toHaveLength(3)
    expect(result.summary.map((s) => s.trials)).toEqual([1, 0])
    expect(result.summary[0]?.throughputRps).toBe(result.trials[1]?.throughputRps)
  })

  it('takes the declared options and the variant from the config the target reported, over what the command said', () => {
    const target = { options: { store: { env: 'STORE', description: 's' }, cache: { env: 'CACHE', description: 'c' } }, variantAlias: 'preset' }
    const result = buildRunResult(parts({ target, targetConfig: { store: 'postgres', preset: 'phase2', cache: 7, other: 'x' } }))
    expect(result.environment).toMatchObject({ variant: 'phase2', targetOptions: { store: 'postgres', cache: 'from-command' } })
    expect(result.environment.targetOptions).not.toHaveProperty('other')
    expect(buildRunResult(parts()).environment.targetOptions.store).toBe('from-command')
    // A target that declares nothing gets nothing read from its config.
    expect(buildRunResult(parts({ targetConfig: { store: 'postgres', preset: 'phase2' } })).environment).toMatchObject({
      variant: FIXTURE_ENVIRONMENT.variant,
      targetOptions: { store: 'from-command' }
    })
  })

  it("lists the target's declared counters with their report labels", () => {
    const target = { metrics: { path: '/metrics', counters: { hits: { metric: 'app_cache_hits_total', label: 'cache hits' }, misses: { metric: 'app_cache_misses_total' } } } }
    expect(buildRunResult(parts({ target })).counters).toEqual({
      hits: { metric: 'app_cache_hits_total', label: 'cache hits' },
      misses: { metric: 'app_cache_misses_total', label: 'misses' }
    })
  })
})
