// `phases` without a target: the interleaved plan, each preset's target environment, the analysis
// (paired changes, effects, the guide's table, evidence where a phase does not help) and both
// renderers on a fixture built from real encoded HDR histograms.
import { describe, expect, it } from 'vitest'
import { planVariants } from '../../harness/engine/plan.ts'
import { parseBackend, presetTargetEnv } from '../../scenarios/phases-env.ts'
import { BadOptionError } from '../../harness/errors.ts'
import { analyseVariants, renderVariantsHtml, renderVariantsMarkdown } from '../../harness/reporters/variants.ts'
import type { VariantCell } from '../../harness/reporters/variants.ts'
import { validateResult } from '../../harness/result-io.ts'
import { createRng } from '../../harness/stats/stats.ts'
import { summarizeScenario } from '../../harness/stats/summary.ts'
import type { RunResult, TrialResult } from '../../harness/types.ts'
import { RESULT_SCHEMA_VERSION } from '../../harness/types.ts'
import { FIXTURE_ENVIRONMENT, FIXTURE_LOAD, makeTrial } from '../fixtures/results/build.ts'
import type { ScenarioShape } from '../fixtures/results/build.ts'
import { authTarget } from '../../authbench.config.ts'
import { counterInfo } from '../../harness/engine/server-metrics.ts'
import { AUTH_REPORT } from '../../scenarios/report.ts'

const PRESETS = ['baseline', 'phase1', 'phase2', 'phase3']

describe('planVariants', () => {
  const plan = planVariants({ variants: PRESETS, scenarios: ['health', 'token'], rounds: 3, seed: 7 })

  it('runs every variant once per round and scenario, rounds over scenarios', () => {
    expect(plan).toHaveLength(4 * 2 * 3)
    for (let round = 0; round < 3; round++) {
      for (const scenario of ['health', 'token']) {
        expect(
          plan
            .filter((s) => s.round === round && s.scenario === scenario)
            .map((s) => s.variant)
            .sort()
        ).toEqual([...PRESETS].sort())
      }
    }
    // A round finishes every scenario before the next round starts.
    expect(plan.slice(0, 8).every((s) => s.round === 0)).toBe(true)
    expect(plan.map((s) => s.index)).toEqual(plan.map((_, i) => i))
    expect(plan.filter((s) => s.scenario === 'token').map((s) => s.trial)).toEqual(Array.from({ length: 12 }, (_, i) => i))
  })

  it('mirrors the order within a block (ABBA for k variants) and reshuffles for the next block', () => {
    const order = (round: number): string[] => plan.filter((s) => s.round === round && s.scenario === 'health').map((s) => s.variant)
    expect(order(1)).toEqual([...order(0)].reverse())
    expect(plan.filter((s) => s.round === 2).every((s) => s.block === 1)).toBe(true)
    // Every variant's mean position over a block is the same: a linear drift cancels.
    const positions = new Map<string, number>()
    for (const round of [0, 1]) order(round).forEach((v, i) => positions.set(v, (positions.get(v) ?? 0) + i))
    expect(new Set(positions.values()).size).toBe(1)
  })

  it('is a pure function of its options; the seed changes the order', () => {
    expect(planVariants({ variants: PRESETS, scenarios: ['health', 'token'], rounds: 3, seed: 7 })).toEqual(plan)
    const orders = new Set(
      Array.from({ length: 8 }, (_, seed) =>
        planVariants({ variants: PRESETS, scenarios: ['health'], rounds: 1, seed })
          .map((s) => s.variant)
          .join(',')
      )
    )
    expect(orders.size).toBeGreaterThan(1)
  })

  it('is ABBA or BAAB for two variants', () => {
    const two = planVariants({ variants: ['A', 'B'], scenarios: ['x'], rounds: 2, seed: 1 })
      .map((s) => s.variant)
      .join('')
    expect(['ABBA', 'BAAB']).toContain(two)
  })

  it('refuses empty, repeated or non-integer inputs', () => {
    expect(() => planVariants({ variants: PRESETS, scenarios: ['health'], rounds: 0, seed: 1 })).toThrow(RangeError)
    expect(() => planVariants({ variants: [], scenarios: ['health'], rounds: 1, seed: 1 })).toThrow(RangeError)
    expect(() => planVariants({ variants: ['a', 'a'], scenarios: ['health'], rounds: 1, seed: 1 })).toThrow(/repeat/)
  })
})

describe('presetTargetEnv and parseBackend', () => {
  const embedded = parseBackend({}, {})
  const shared = parseBackend({ store: 'postgres', cache: 'redis' }, {})

  it('defaults to the embedded store, and to loopback PostgreSQL and Redis when asked for them', () => {
    expect(embedded).toEqual({ store: 'memory', cache: null, databaseUrl: null, redisUrl: null })
    expect(shared).toEqual({ store: 'postgres', cache: 'redis', databaseUrl: 'postgres://postgres@127.0.0.1:5432/test', redisUrl: 'redis://127.0.0.1:6379' })
    expect(parseBackend({ store: 'postgres' }, { DATABASE_URL: 'postgres://u@127.0.0.1:5433/db' }).databaseUrl).toBe('postgres://u@127.0.0.1:5433/db')
  })

  it('refuses a store or cache it cannot honour', () => {
    expect(() => parseBackend({ store: 'mysql' }, {})).toThrow(BadOptionError)
    expect(() => parseBackend({ cache: 'lru' }, {})).toThrow(/presets choose their in-process cache/)
  })

  it('keeps baseline and phase1 without a cache even when a shared cache is given', () => {
    expect(presetTargetEnv('baseline', shared)).toMatchObject({ PRESET: 'baseline', STORE: 'postgres', CACHE: 'none', INSTANCES: '1' })
    expect(presetTargetEnv('phase1', shared).CACHE).toBe('none')
    expect(presetTargetEnv('phase2', shared)).toMatchObject({ CACHE: 'redis', REDIS_URL: 'redis://127.0.0.1:6379', INSTANCES: '1' })
  })

  it('gives phase3 two instances only on PostgreSQL with a shared cache', () => {
    expect(presetTargetEnv('phase3', shared).INSTANCES).toBe('2')
    expect(presetTargetEnv('phase3', parseBackend({ store: 'postgres' }, {})).INSTANCES).toBe('1')
    expect(presetTargetEnv('phase3', embedded)).toMatchObject({ STORE: 'memory', CACHE: 'lru', INSTANCES: '1' })
  })

  it('blanks every other config variable so the shell cannot make the presets alike', () => {
    const env = presetTargetEnv('phase2', embedded)
    expect(env.DB_POOL_MAX).toBe('')
    expect(env.DATABASE_URL).toBe('')
    expect(env.LOG_LEVEL).toBe('warn')
    expect(env).not.toHaveProperty('PORT')
  })
})

// ---------------------------------------------------------------------------------------------
// Fixture: 5 endpoints × 4 phases × 4 rounds, with a per-round drift that hits every phase alike.

type Shape = ScenarioShape & { counters?: Record<string, number> }
const base = (rps: number, p50Us: number, cpu: number): Shape => ({ trials: 1, throughputRps: rps, p50Us, cpuUsPerRequest: cpu, trialNoise: 0.01 })
const SHAPES: Record<string, Record<string, Shape>> = {
  health: { baseline: base(20_000, 400, 40), phase1: base(20_000, 400, 40), phase2: base(20_100, 400, 40), phase3: base(19_900, 400, 40) },
  token: {
    baseline: base(3_000, 3_000, 300),
    phase1: { ...base(4_500, 2_000, 200), counters: { batchFlushes: 25 } },
    phase2: { ...base(4_400, 2_050, 205), counters: { batchFlushes: 25 } },
    phase3: { ...base(4_450, 2_000, 200), counters: { batchFlushes: 25 } }
  },
  ott: { baseline: base(1_500, 6_000, 500), phase1: base(2_500, 4_000, 320), phase2: base(2_500, 4_000, 320), phase3: base(2_550, 4_000, 315) },
  validate: {
    baseline: base(8_000, 1_200, 110),
    phase1: base(8_000, 1_200, 110),
    phase2: { ...base(12_000, 800, 70), counters: { cacheHits: 59_000, cacheMisses: 1_000 } },
    phase3: { ...base(12_000, 800, 70), counters: { cacheHits: 59_000, cacheMisses: 1_000 } }
  },
  revoke: {
    baseline: base(6_000, 1_600, 150),
    phase1: base(6_000, 1_600, 150),
    phase2: { ...base(5_500, 1_750, 165), counters: { queueRejections: 30 } },
    phase3: { ...base(7_500, 1_300, 120), counters: { revocationsPersisted: 37_500 } }
  }
}
const CONFIGS: Record<string, Record<string, unknown>> = {
  baseline: {
    preset: 'baseline',
    store: 'memory',
    cache: 'none',
    dbPoolMax: 4,
    batchSize: 0,
    batchFlushIntervalMs: 200,
    queueMaxConcurrent: 0,
    queueCapacity: 2048,
    queueTimeoutMs: 100,
    revocationWorkers: 0,
    instances: 1
  },
  phase1: {
    preset: 'phase1',
    store: 'memory',
    cache: 'none',
    dbPoolMax: 20,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    queueMaxConcurrent: 0,
    queueCapacity: 2048,
    queueTimeoutMs: 100,
    revocationWorkers: 0,
    instances: 1
  },
  phase2: {
    preset: 'phase2',
    store: 'memory',
    cache: 'lru',
    dbPoolMax: 20,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    queueMaxConcurrent: 256,
    queueCapacity: 2048,
    queueTimeoutMs: 100,
    revocationWorkers: 0,
    instances: 1
  },
  phase3: {
    preset: 'phase3',
    store: 'memory',
    cache: 'lru',
    dbPoolMax: 20,
    batchSize: 500,
    batchFlushIntervalMs: 200,
    queueMaxConcurrent: 256,
    queueCapacity: 2048,
    queueTimeoutMs: 100,
    revocationWorkers: 4,
    instances: 1
  }
}

// The reference target's declared counters, as its results carry them.
const COUNTERS = counterInfo(authTarget)

function makePhasesRun(rounds: number): RunResult {
  const rng = createRng(11)
  const trials: TrialResult[] = []
  const plan = planVariants({ variants: PRESETS, scenarios: Object.keys(SHAPES), rounds, seed: 2 })
  const drift = Array.from({ length: rounds }, () => Math.exp(0.08 * rng.normal()))
  for (const step of plan) {
    const shape = SHAPES[step.scenario]?.[step.variant] as Shape
    const d = drift[step.round] as number
    const trial = makeTrial(step.scenario, step.trial, { ...shape, samplesPerTrial: 800, throughputRps: shape.throughputRps / d, p50Us: shape.p50Us * d }, rng, {
      variant: step.variant,
      round: step.round
    })
    if (trial.server !== null) trial.server = { ...trial.server, counters: { ...Object.fromEntries(Object.keys(COUNTERS).map((k) => [k, 0])), ...shape.counters } }
    trials.push(trial)
  }
  const scenarios = Object.keys(SHAPES)
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: 'authbench',
    kind: 'variants',
    label: 'phases-fixture',
    createdAt: '2025-01-01T00:00:00.000Z',
    environment: {
      ...FIXTURE_ENVIRONMENT,
      variant: PRESETS.join(','),
      targetOptions: { store: 'memory' },
      targetConfig: {
        variants: Object.fromEntries(PRESETS.map((p) => [p, { env: { PRESET: p }, config: CONFIGS[p] }])),
        loadAverage: { start: [1.5, 1.2, 1], end: [1.9, 1.4, 1.1] }
      }
    },
    load: Object.fromEntries(scenarios.map((s) => [s, { ...FIXTURE_LOAD }])),
    scenarios,
    trials,
    summary: scenarios.map((s) =>
      summarizeScenario(
        s,
        trials.filter((t) => t.variant === 'phase3')
      )
    ),
    calibration: null,
    aborted: null,
    counters: COUNTERS
  }
}

describe('analyseVariants', () => {
  const result = makePhasesRun(4)
  const analysis = analyseVariants(result, { report: AUTH_REPORT })
  const cell = (scenario: string, variant: string): VariantCell => analysis.cells.find((c) => c.scenario === scenario && c.variant === variant) as VariantCell

  it('the fixture is a valid result file', () => {
    expect(validateResult(result)).toEqual([])
  })

  it('has a cell per endpoint × phase, with figures and the paired change against baseline', () => {
    expect(analysis.cells).toHaveLength(20)
    expect(analysis.rounds).toBe(4)
    expect(cell('validate', 'baseline').vsBaseline).toBeNull()
    const v = cell('validate', 'phase2')
    expect(v.throughputRps).toBeGreaterThan(11_000)
    expect(v.p99Us).toBeGreaterThan(v.p95Us as number)
    expect(v.vsBaseline?.pairs).toBe(4)
    expect(v.vsBaseline?.metrics.throughputRps.change).toBeCloseTo(0.5, 1)
    expect(v.vsBaseline?.metrics.throughputRps.low).toBeGreaterThan(0.4)
    expect(v.vsBaseline?.effect).toBe('helps')
    expect(v.vsPrevious?.against).toBe('phase1')
    const hits = v.server.counters.cacheHits?.per1kRequests as number
    const misses = v.server.counters.cacheMisses?.per1kRequests as number
    expect(hits / (hits + misses)).toBeCloseTo(59 / 60, 5)
  })

  it('judges effects from the throughput interval: helps, no measurable effect, worse', () => {
    expect(cell('token', 'phase1').vsBaseline?.effect).toBe('helps')
    expect(cell('health', 'phase1').vsBaseline?.effect).toBe('no-effect')
    expect(cell('revoke', 'phase2').vsPrevious?.effect).toBe('worse')
    expect(cell('revoke', 'phase3').vsPrevious?.effect).toBe('helps')
  })

  it('says where a phase does not help, with the server-side evidence', () => {
    const lines = analysis.notHelping.map((n) => n.text)
    const health = lines.find((l) => l.startsWith('phase1 on health:'))
    expect(health).toMatch(/against baseline does not measurably help: throughput [+−]\d/)
    expect(health).toMatch(
      /Evidence \(baseline → phase1\): cache hits\/1k req 0\.0 → 0\.0 \(0\.0 → 0\.0\/s\); .*batch flushes\/1k req 0\.0 → 0\.0 \(0\.0 → 0\.0\/s\); 429 rejections\/1k req 0\.0 → 0\.0 .*; pool waits\/1k req 0\.0 → 0\.0/
    )
    expect(health).toMatch(/embedded store has no connection pool/)
    expect(health).toMatch(/it never flushed, since this endpoint issues no tokens/)
    const revoke = lines.find((l) => l.startsWith('phase2 on revoke:'))
    expect(revoke).toMatch(/against phase1 is slower: .*; against baseline is slower/)
    expect(revoke).toMatch(/429 rejections\/1k req 0\.0 → [1-9]/)
    expect(revoke).toMatch(/backpressure/)
    // Readings only for mechanisms the two phases differ in: phase2 shares phase1's pool.
    expect(revoke).not.toMatch(/pool:/)
    // A phase that helps on both comparisons is not listed.
    expect(lines.some((l) => l.startsWith('phase2 on validate:'))).toBe(false)
    expect(lines.some((l) => l.startsWith('phase3 on revoke:'))).toBe(false)
  })

  it("fills the guide's table with ratios to health measured here", () => {
    const token = analysis.guide.find((g) => g.scenario === 'token')
    expect(token?.targetRatio).toBeCloseTo(0.3, 5)
    expect(token?.baselineRatio).toBeCloseTo(0.15, 1)
    expect(token?.best?.variant).toBe('phase1')
    expect(token?.gapFromBaseline).toBeCloseTo(1, 0)
    expect(token?.targetRpsHere).toBeCloseTo(0.3 * (cell('health', 'phase1').throughputRps as number), 0)
    const health = analysis.guide.find((g) => g.scenario === 'health')
    expect(health?.gapFromBest).toBeNull()
    expect(analysis.guide.map((g) => g.scenario)).toEqual(['health', 'token', 'ott', 'validate', 'revoke'])
  })

  it('does not judge with one round, and says why', () => {
    const one = analyseVariants(makePhasesRun(1), { report: AUTH_REPORT })
    const v = one.cells.find((c) => c.scenario === 'validate' && c.variant === 'phase2')
    expect(v?.vsBaseline?.effect).toBe('unknown')
    expect(v?.vsBaseline?.note).toMatch(/1 complete valid round\(s\): an interval needs 2/)
    expect(v?.vsBaseline?.metrics.throughputRps.change).toBeGreaterThan(0.3)
  })
})

describe('variants renderers', () => {
  const analysis = analyseVariants(makePhasesRun(4), { report: AUTH_REPORT })
  const markdown = renderVariantsMarkdown(analysis)
  const html = renderVariantsHtml(analysis, { chartJs: '/* chart.js */' })

  it('matches the checked-in markdown fixture', async () => {
    await expect(markdown).toMatchFileSnapshot('./fixtures/phases-report.md')
  })

  it('markdown: the scenario × variant table, the guide table, and the variants that do not help', () => {
    for (const p of PRESETS) expect(markdown).toContain(`| ${p} |`)
    expect(markdown).toContain('| scenario | variant | req/s | p95 | p99 | CPU µs/req |')
    expect(markdown).not.toMatch(/phase\(s\)|endpoint\(s\)|\| endpoint \|/)
    expect(markdown).toContain('| Scenario | Guide: current → target | Target ratio |')
    expect(markdown).toMatch(/\| token \| 8\.2k → 15k r\/s \| 0\.30 \|/)
    expect(markdown).toContain('#### phase2 — Level 2')
    expect(markdown).toMatch(/load average at start 1\.50 1\.20 1\.00/)
  })

  it('html: self-contained, every preset, the three charts and escaped data', () => {
    expect(html).toMatch(/^<!doctype html>/)
    expect(html).not.toMatch(/<script src=/)
    expect(html).toContain('/* chart.js */')
    for (const id of ['throughput', 'p99', 'change']) expect(html).toContain(`<canvas id="${id}">`)
    for (const p of PRESETS) expect(html).toContain(`<td>${p}</td>`)
    const data = JSON.parse(/<script type="application\/json" id="phases-data">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}') as {
      variants: string[]
      cells: Record<string, { low: number | null }>
    }
    expect(data.variants).toEqual(PRESETS)
    expect(data.cells['validate/phase2']?.low).toBeGreaterThan(0)
  })

  it('escapes what it did not write', () => {
    const hostile = { ...analysis, label: '<script>alert(1)</script>' }
    expect(renderVariantsHtml(hostile, { chartJs: '' })).not.toContain('<script>alert(1)</script>')
  })
})
