// `compare` on fixture results (real encoded HDR histograms from seeded synthetic latencies):
// verdicts, normalisation across machines, paired A/B, and compareCommand's exit codes and
// messages for missing, corrupt and incompatible files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { compareAB, compareResults } from '../../harness/reporters/headline.ts'
import { compareCommand } from '../../harness/cli/commands/compare.ts'
import { decideVerdict, resolveCompareSettings } from '../../harness/stats/verdict.ts'
import { formatMargin } from '../../harness/reporters/format.ts'
import type { MetricComparison, MetricName, RunResult } from '../../harness/types.ts'
import { makeAbRun, makeRun } from '../fixtures/results/build.ts'
import type { ScenarioShape } from '../fixtures/results/build.ts'

const HEALTH: ScenarioShape = { trials: 5, throughputRps: 12_000, p50Us: 700, cpuUsPerRequest: 80 }
const TOKEN: ScenarioShape = { trials: 5, throughputRps: 4_000, p50Us: 2_000, cpuUsPerRequest: 200 }

const baseline = makeRun({ label: 'baseline', seed: 1, kind: 'baseline', scenarios: { health: HEALTH, token: TOKEN } })

function metric(comparison: ReturnType<typeof compareResults>, scenario: string, name: MetricName): MetricComparison {
  const found = comparison.scenarios.find((s) => s.scenario === scenario)?.metrics.find((m) => m.metric === name)
  if (found === undefined) throw new Error(`no ${scenario}/${name}`)
  return found
}

const workDir = mkdtempSync(path.join(tmpdir(), 'authbench-compare-'))
afterAll(() => rmSync(workDir, { recursive: true, force: true }))

function writeRun(name: string, run: unknown): string {
  const dir = path.join(workDir, name)
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'result.json')
  writeFileSync(file, typeof run === 'string' ? run : JSON.stringify(run))
  return file
}

async function runCommand(resultPath: string, baselinePath: string | undefined, extra: { configPath?: string; env?: NodeJS.ProcessEnv } = {}) {
  const out: string[] = []
  const err: string[] = []
  const code = await compareCommand({
    resultPath,
    ...(baselinePath === undefined ? {} : { baselinePath }),
    ...extra,
    env: extra.env ?? {},
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l)
  })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

/** The result.json with its comparison that `compare` wrote (named on its "reports:" line), never the file it read. */
function writtenResult(out: string): RunResult {
  const line = out.split('\n').find((l) => l.startsWith('reports: ')) ?? ''
  const file = line
    .slice('reports: '.length)
    .split(', ')
    .find((f) => f.endsWith('result.json'))
  if (file === undefined) throw new Error(`no result.json on the reports line: ${out}`)
  return JSON.parse(readFileSync(file, 'utf8')) as RunResult
}

describe('compareResults on fixtures', () => {
  it('A/A: the same shape with another seed gives no regression', () => {
    const current = makeRun({ label: 'same', seed: 2, scenarios: { health: HEALTH, token: TOKEN } })
    const comparison = compareResults(baseline, current)
    expect(comparison.verdict).not.toBe('regression')
    expect(comparison.exitCode).toBe(0)
    expect(comparison.environment.sameMachine).toBe(true)
    expect(comparison.method.percentileInterval).toBe('bootstrap-trials-merge-histograms')
  })

  it('a 30% slower token scenario is a regression on throughput, latency and CPU; health stays quiet', () => {
    const current = makeRun({ label: 'slow', seed: 3, scenarios: { health: HEALTH, token: { ...TOKEN, throughputRps: 2_800, p50Us: 2_600, cpuUsPerRequest: 260 } } })
    const comparison = compareResults(baseline, current)
    expect(comparison.verdict).toBe('regression')
    expect(comparison.exitCode).toBe(1)
    for (const name of ['throughputRps', 'p50Us', 'p99Us', 'cpuUsPerRequest'] as const) expect(metric(comparison, 'token', name).verdict).toBe('regression')
    expect(comparison.scenarios.find((s) => s.scenario === 'health')?.verdict).not.toBe('regression')
    const throughput = metric(comparison, 'token', 'throughputRps')
    expect(throughput.interval?.low).toBeLessThan(-0.3 + 0.05)
    expect(throughput.interval?.high).toBeGreaterThan(-0.3 - 0.05)
    expect(comparison.headline).toMatch(/REGRESSION.*token throughput/)
  })

  it('a faster run is an improvement and exits 0', () => {
    const current = makeRun({ label: 'fast', seed: 4, scenarios: { health: { ...HEALTH, throughputRps: 15_000, p50Us: 500, cpuUsPerRequest: 60 }, token: TOKEN } })
    const comparison = compareResults(baseline, current)
    expect(metric(comparison, 'health', 'throughputRps').verdict).toBe('improvement')
    expect(metric(comparison, 'health', 'p50Us').verdict).toBe('improvement')
    expect(comparison.exitCode).toBe(0)
  })

  it('a tail-only change (2% of requests +50 ms) shows in p99 while p50 stays quiet', () => {
    const current = makeRun({ label: 'tail', seed: 5, scenarios: { health: HEALTH, token: { ...TOKEN, tailShare: 0.02, tailDelayUs: 50_000 } } })
    const comparison = compareResults(baseline, current)
    expect(metric(comparison, 'token', 'p99Us').verdict).toBe('regression')
    expect(metric(comparison, 'token', 'p50Us').verdict).not.toBe('regression')
  })

  it('percentile point estimates come from merged histograms, equal to the run summary', () => {
    const comparison = compareResults(baseline, baseline)
    const summary = baseline.summary.find((s) => s.scenario === 'token')
    expect(metric(comparison, 'token', 'p99Us').baseline).toBe(summary?.latencyUs.p99)
    expect(metric(comparison, 'token', 'p50Us').baseline).toBe(summary?.latencyUs.p50)
  })

  it('an invalid trial makes its scenario invalid (exit 2) unless tolerated by settings', () => {
    const current = makeRun({ label: 'invalid', seed: 6, scenarios: { health: { ...HEALTH, invalidTrials: [2] }, token: TOKEN } })
    const strict = compareResults(baseline, current)
    expect(strict.scenarios.find((s) => s.scenario === 'health')?.verdict).toBe('invalid')
    expect(strict.verdict).toBe('invalid')
    expect(strict.exitCode).toBe(2)
    const tolerant = compareResults(baseline, current, { settings: resolveCompareSettings({ maxInvalidTrials: 1 }) })
    expect(tolerant.scenarios.find((s) => s.scenario === 'health')?.verdict).not.toBe('invalid')
    expect(tolerant.scenarios.find((s) => s.scenario === 'health')?.notes.join(' ')).toMatch(/invalid trial/)
  })

  it('different load settings make a scenario invalid', () => {
    const current = makeRun({ label: 'load', seed: 7, scenarios: { health: HEALTH, token: TOKEN } })
    const load = current.load.health
    if (load === undefined) throw new Error('fixture has no health load')
    current.load.health = { ...load, connections: 100 }
    const comparison = compareResults(baseline, current)
    expect(comparison.scenarios.find((s) => s.scenario === 'health')?.notes[0]).toMatch(/connections 10 → 100/)
    expect(comparison.exitCode).toBe(2)
  })

  it('different machines: throughput and CPU are normalised by the calibration workload and flagged', () => {
    // A machine twice as fast: every throughput doubles, CPU per request halves, and so does the
    // calibration, so the normalised figures show no change.
    const current = makeRun({
      label: 'fast-machine',
      seed: 8,
      environment: { cpuModel: 'Faster CPU', cpuCount: 8 },
      calibration: { throughputRps: 40_000, cpuUsPerRequest: 20 },
      scenarios: { health: { ...HEALTH, throughputRps: 24_000, cpuUsPerRequest: 40 }, token: { ...TOKEN, throughputRps: 8_000, cpuUsPerRequest: 100 } }
    })
    const comparison = compareResults(baseline, current)
    expect(comparison.environment.sameMachine).toBe(false)
    expect(comparison.environment.differences.map((d) => d.field)).toEqual(expect.arrayContaining(['cpuModel', 'cpuCount']))
    expect(comparison.environment.normalisation?.metrics).toEqual(['throughputRps', 'cpuUsPerRequest'])
    const throughput = metric(comparison, 'token', 'throughputRps')
    expect(throughput.normalised).toBe(true)
    expect(throughput.verdict).not.toBe('improvement')
    expect(Math.abs(throughput.change ?? 1)).toBeLessThan(0.05)
    expect(metric(comparison, 'token', 'p99Us').normalised).toBe(false)
    expect(comparison.notes.join(' ')).toMatch(/different machines/)
  })

  it('another CPU model: a change is judged as a factor of 2 both ways (latencies not gated)', () => {
    // A machine twice as fast (calibration 40,000) on which token ran 40% slower than the
    // calibration predicts and its p99 tripled: inside what one yardstick cannot tell apart across
    // CPU models, so neither fails the gate; at a third of the predicted speed it is a regression.
    const other = (tokenFactor: number) =>
      makeRun({
        label: 'other-cpu',
        seed: 11,
        environment: { cpuModel: 'Other CPU', cpuCount: 8 },
        calibration: { throughputRps: 40_000, cpuUsPerRequest: 20 },
        scenarios: {
          health: { ...HEALTH, throughputRps: 24_000, cpuUsPerRequest: 40 },
          token: { ...TOKEN, throughputRps: 8_000 * tokenFactor, p50Us: 6_000, cpuUsPerRequest: 100 / tokenFactor }
        }
      })
    const mild = compareResults(baseline, other(0.6))
    expect(mild.settings.margins.throughputRps).toBe(0.5)
    expect(mild.settings.margins.cpuUsPerRequest).toBe(1)
    expect(mild.settings.improvementMargins).toMatchObject({ throughputRps: 1, cpuUsPerRequest: 0.5 })
    expect(mild.settings.gatedMetrics).not.toContain('p50Us')
    expect(metric(mild, 'token', 'throughputRps').change).toBeCloseTo(-0.4, 1)
    expect(metric(mild, 'token', 'throughputRps').verdict).toBe('no-change')
    expect(metric(mild, 'token', 'cpuUsPerRequest').change).toBeCloseTo(2 / 3, 1)
    expect(metric(mild, 'token', 'cpuUsPerRequest').verdict).toBe('no-change')
    expect(metric(mild, 'token', 'throughputRps').improvementMargin).toBe(1)
    expect(metric(mild, 'token', 'p50Us').gated).toBe(false)
    expect(mild.exitCode).toBe(0)
    expect(mild.notes.join(' ')).toMatch(/only gross changes are judged \(normalised throughput and CPU µs\/req only past ×2 or ×1\/2 across CPU models/)
    // The same two machines the other way round: +67% throughput is within ×2, so no change too
    // (at a symmetric ±50% it would have been an improvement, and its mirror a regression).
    const reversed = compareResults(other(0.6), baseline)
    expect(metric(reversed, 'token', 'throughputRps').change).toBeCloseTo(2 / 3, 1)
    expect(metric(reversed, 'token', 'throughputRps').verdict).toBe('no-change')
    expect(metric(reversed, 'token', 'cpuUsPerRequest').verdict).toBe('no-change')
    expect(reversed.exitCode).toBe(0)
    const gross = compareResults(baseline, other(1 / 3))
    expect(metric(gross, 'token', 'throughputRps').verdict).toBe('regression')
    expect(metric(gross, 'token', 'cpuUsPerRequest').verdict).toBe('regression')
    expect(gross.exitCode).toBe(1)
    expect(metric(compareResults(other(1 / 3), baseline), 'token', 'throughputRps').verdict).toBe('improvement')
  })

  it('one CPU model on another machine (more cores): only gross changes are judged, at ±30%', () => {
    const other = (tokenFactor: number) =>
      makeRun({
        label: 'more-cores',
        seed: 14,
        environment: { cpuCount: 8 },
        calibration: { throughputRps: 40_000, cpuUsPerRequest: 20 },
        scenarios: {
          health: { ...HEALTH, throughputRps: 24_000, cpuUsPerRequest: 40 },
          token: { ...TOKEN, throughputRps: 8_000 * tokenFactor, p50Us: 6_000, cpuUsPerRequest: 100 / tokenFactor }
        }
      })
    const mild = compareResults(baseline, other(0.85))
    expect(mild.environment.sameMachine).toBe(false)
    expect(mild.settings.margins.throughputRps).toBe(0.3)
    expect(mild.settings.improvementMargins).toBeUndefined()
    expect(mild.settings.gatedMetrics).not.toContain('p50Us')
    expect(metric(mild, 'token', 'throughputRps').change).toBeCloseTo(-0.15, 1)
    expect(metric(mild, 'token', 'throughputRps').verdict).not.toBe('regression')
    expect(metric(mild, 'token', 'throughputRps').improvementMargin).toBeUndefined()
    expect(mild.exitCode).toBe(0)
    expect(mild.notes.join(' ')).toMatch(/only gross changes are judged \(normalised throughput and CPU µs\/req at ±30% at least/)
    const gross = compareResults(baseline, other(0.5))
    expect(metric(gross, 'token', 'throughputRps').verdict).toBe('regression')
    expect(gross.exitCode).toBe(1)
  })

  it('one fingerprint at another speed: a calibration that moved past the tolerance makes the runs different machines', () => {
    // The same code on a host half as fast, with the same CPU model string: compared raw it would be
    // a regression everywhere; judged as another machine, normalised, it is not.
    const slowHost = makeRun({
      label: 'slow-host',
      seed: 12,
      calibration: { throughputRps: 10_000, cpuUsPerRequest: 80 },
      scenarios: { health: { ...HEALTH, throughputRps: 6_000, p50Us: 1_400, cpuUsPerRequest: 160 }, token: { ...TOKEN, throughputRps: 2_000, p50Us: 4_000, cpuUsPerRequest: 400 } }
    })
    const comparison = compareResults(baseline, slowHost)
    expect(comparison.environment.sameMachine).toBe(false)
    expect(comparison.environment.differences).toContainEqual({ field: 'calibrationRps', baseline: '20000', current: '10000', machine: true })
    expect(comparison.notes.join(' ')).toMatch(/calibration moved ×0\.50 between the runs/)
    expect(metric(comparison, 'token', 'throughputRps').normalised).toBe(true)
    expect(Math.abs(metric(comparison, 'token', 'throughputRps').change ?? 1)).toBeLessThan(0.05)
    expect(comparison.exitCode).toBe(0)
    // Raw, as before the speed check, the same runs were a regression.
    const raw = compareResults(baseline, { ...slowHost, calibration: null })
    expect(raw.environment.sameMachine).toBe(true)
    expect(raw.exitCode).toBe(1)
    // Within the tolerance the runs stay one machine, compared raw.
    const steady = makeRun({ label: 'steady', seed: 13, calibration: { throughputRps: 21_500, cpuUsPerRequest: 40 }, scenarios: { health: HEALTH, token: TOKEN } })
    expect(compareResults(baseline, steady).environment.sameMachine).toBe(true)
  })

  it('different machines without calibration: throughput cannot be compared (invalid)', () => {
    const current = makeRun({ label: 'no-cal', seed: 9, environment: { nodeVersion: 'v22.0.0' }, calibration: null, scenarios: { health: HEALTH, token: TOKEN } })
    const comparison = compareResults(baseline, current)
    expect(metric(comparison, 'health', 'throughputRps').verdict).toBe('invalid')
    expect(comparison.exitCode).toBe(2)
  })

  it('too few trials is invalid; no scenario in common is invalid', () => {
    const few = makeRun({ label: 'few', seed: 10, scenarios: { health: { ...HEALTH, trials: 2 } } })
    expect(compareResults(baseline, few).scenarios[0]?.verdict).toBe('invalid')
    const other = makeRun({ label: 'other', seed: 10, scenarios: { ott: HEALTH } })
    const comparison = compareResults(baseline, other)
    expect(comparison.verdict).toBe('invalid')
    expect(comparison.headline).toMatch(/no scenario in common/)
  })
})

describe('compareAB on interleaved fixtures', () => {
  it('B 10% slower under heavy machine drift is a regression; paired statistics see through the drift', () => {
    const ab = makeAbRun('ab-slow', 21, 8, { health: { a: HEALTH, b: { ...HEALTH, throughputRps: 10_800, p50Us: 770 }, driftSigma: 0.15 } })
    const comparison = compareAB(ab)
    expect(comparison.mode).toBe('ab')
    expect(comparison.method.rankTest).toBe('wilcoxon-signed-rank')
    const throughput = comparison.scenarios[0]?.metrics.find((m) => m.metric === 'throughputRps')
    expect(throughput?.verdict).toBe('regression')
    // Drift of ±15% between pairs would swamp an unpaired comparison; paired, the estimate
    // lands within 2 points of the true −10%.
    expect(Math.abs((throughput?.change ?? 0) + 0.1)).toBeLessThan(0.02)
    expect(throughput?.interval?.high).toBeLessThan(-0.05)
    expect(comparison.exitCode).toBe(1)
    // The unit is the pair: counted as pairs, each giving one trial to either side.
    expect(comparison.scenarios[0]).toMatchObject({ pairs: 8, baselineTrials: 8, currentTrials: 8 })
    expect(compareResults(baseline, makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH } })).scenarios[0]?.pairs).toBeUndefined()
  })

  it('A/A: the same config in both arms gives no regression', () => {
    const ab = makeAbRun('ab-same', 22, 8, { health: { a: HEALTH, b: HEALTH, driftSigma: 0.15 } })
    const comparison = compareAB(ab)
    expect(comparison.verdict).not.toBe('regression')
  })

  it('a result without arms is refused with a coded error', () => {
    expect(() => compareAB(baseline)).toThrow(expect.objectContaining({ code: 'AUTHBENCH_ERR_AB_UNPAIRED' }))
  })

  it('paired comparisons default to half the baseline margins, and a config margin sets both', () => {
    const paired = resolveCompareSettings({}, 'settings', 'paired')
    const against = resolveCompareSettings({})
    expect(paired.margins).toEqual({ throughputRps: 0.025, p50Us: 0.025, p95Us: 0.04, p99Us: 0.05, errorRate: 0.002, cpuUsPerRequest: 0.025, checkFailureRate: 0.002 })
    expect(against.margins).toMatchObject({ throughputRps: 0.05, cpuUsPerRequest: 0.05, p99Us: 0.1 })
    expect(resolveCompareSettings({ margins: { throughputRps: 0.07 } }, 'settings', 'paired').margins).toMatchObject({ throughputRps: 0.07, cpuUsPerRequest: 0.025 })
    expect(compareAB(makeAbRun('ab-defaults', 23, 6, { health: { a: HEALTH, b: HEALTH } })).settings.margins.throughputRps).toBe(0.025)
  })

  it('a 5% slower arm with 1% per-pair noise: caught at the paired margin, not at the baseline one', () => {
    // A 5% change sits on the baseline margin, where a regression needs the whole interval past it.
    const ab = makeAbRun('ab-five', 24, 6, { health: { a: HEALTH, b: { ...HEALTH, throughputRps: HEALTH.throughputRps * 0.95 }, driftSigma: 0.15 } })
    const throughput = (c: ReturnType<typeof compareAB>) => c.scenarios[0]?.metrics.find((m) => m.metric === 'throughputRps')?.verdict
    expect(throughput(compareAB(ab))).toBe('regression')
    expect(throughput(compareAB(ab, { settings: resolveCompareSettings({}) }))).not.toBe('regression')
  })
})

describe('compareCommand', () => {
  const baselinePath = writeRun('baseline', baseline)

  it('a version-1 file still compares: the committed baseline of before against itself', async () => {
    const v1 = new URL('../fixtures/results/baseline-v1.json', import.meta.url).pathname
    const copy = writeRun('v1-copy', JSON.parse(readFileSync(v1, 'utf8')) as RunResult)
    const same = await runCommand(copy, v1)
    expect(same.code, same.err).toBe(0)
    const comparison = writtenResult(same.out).comparison
    expect(comparison?.verdict).not.toBe('regression')
    expect(comparison?.scenarios.map((s) => s.scenario).sort()).toEqual(['health', 'mixed', 'ott', 'revoke', 'token', 'validate'])
  })

  it('an A/B result without --baseline is judged on its own arms (paired)', async () => {
    const ab = makeAbRun('ab-slow', 21, 8, { health: { a: HEALTH, b: { ...HEALTH, throughputRps: 10_800, p50Us: 770 }, driftSigma: 0.15 } })
    const resultPath = writeRun('ab', ab)
    const { code, out } = await runCommand(resultPath, undefined)
    expect(code).toBe(1)
    expect(out).toMatch(/^authbench B vs A: REGRESSION/)
    const comparison = writtenResult(out).comparison
    expect(comparison?.settings.margins.throughputRps).toBe(0.025)
  })

  it('regression: exit 1, prints the one-line verdict, writes the four reports and the step summary', async () => {
    const current = makeRun({ label: 'slow', seed: 3, scenarios: { health: HEALTH, token: { ...TOKEN, throughputRps: 2_800, p50Us: 2_600, cpuUsPerRequest: 260 } } })
    const resultPath = writeRun('slow', current)
    const summaryFile = path.join(workDir, 'step-summary.md')
    writeFileSync(summaryFile, '# earlier step\n')
    const before = readFileSync(resultPath, 'utf8')
    const { code, out } = await runCommand(resultPath, baselinePath, { env: { GITHUB_STEP_SUMMARY: summaryFile } })
    expect(code).toBe(1)
    expect(out.split('\n')[0]).toMatch(/^authbench current vs baseline: REGRESSION/)
    // The per-scenario table follows the headline: the regressed scenario's row names its verdict.
    expect(out).toMatch(/token\s*│\s*regression\s*│/)
    // The result read is never rewritten; the reports go to a new folder inside its folder.
    expect(readFileSync(resultPath, 'utf8')).toBe(before)
    const reportsLine = out.split('\n').find((l) => l.startsWith('reports: ')) ?? ''
    const reportsDir = path.dirname(reportsLine.slice('reports: '.length).split(', ')[0] ?? '')
    expect(path.dirname(reportsDir)).toBe(path.dirname(resultPath))
    expect(path.basename(reportsDir)).toMatch(/-compare$/)
    for (const file of ['report.md', 'report.html', 'junit.xml', 'result.json']) expect(existsSync(path.join(reportsDir, file))).toBe(true)
    const extended = writtenResult(out)
    expect(extended.comparison?.verdict).toBe('regression')
    expect(extended.trials.length).toBe(current.trials.length)
    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary.startsWith('# earlier step\n')).toBe(true)
    expect(summary).toMatch(/<summary>token — 🔴 regression/)
  })

  it('refuses an --out that would write result.json over the result it compares (exit 2)', async () => {
    const resultPath = writeRun('same-out', makeRun({ label: 'same', seed: 2, scenarios: { health: HEALTH, token: TOKEN } }))
    const before = readFileSync(resultPath, 'utf8')
    const out: string[] = []
    const code = await compareCommand({ resultPath, baselinePath, outDir: path.dirname(resultPath), env: {}, stdout: (l) => out.push(l), stderr: (l) => out.push(l) })
    expect(code).toBe(2)
    expect(out.join('\n')).toMatch(/would overwrite the result being compared/)
    expect(readFileSync(resultPath, 'utf8')).toBe(before)
  })

  it('judges a run handed over in memory (run --compare) without reading its result.json', async () => {
    const current = makeRun({ label: 'slow', seed: 3, scenarios: { health: HEALTH, token: { ...TOKEN, throughputRps: 2_800, p50Us: 2_600, cpuUsPerRequest: 260 } } })
    const dir = path.join(workDir, 'in-memory')
    const resultPath = path.join(dir, 'result.json')
    const out: string[] = []
    const code = await compareCommand({ current, resultPath, baselinePath, env: {}, stdout: (l) => out.push(l), stderr: (l) => out.push(l) })
    expect(code).toBe(1)
    expect(out[0]).toMatch(/^authbench current vs baseline: REGRESSION/)
    // No file was there to read: the one written is the result with its comparison.
    expect((JSON.parse(readFileSync(resultPath, 'utf8')) as RunResult).comparison?.verdict).toBe('regression')
  })

  it('no regression: exit 0', async () => {
    const resultPath = writeRun('same', makeRun({ label: 'same', seed: 2, scenarios: { health: HEALTH, token: TOKEN } }))
    expect((await runCommand(resultPath, baselinePath)).code).toBe(0)
  })

  it('a comparison with an invalid trial: exit 2', async () => {
    const resultPath = writeRun('invalid', makeRun({ label: 'invalid', seed: 6, scenarios: { health: { ...HEALTH, invalidTrials: [0] }, token: TOKEN } }))
    expect((await runCommand(resultPath, baselinePath)).code).toBe(2)
  })

  it('a missing baseline: exit 2 naming the file', async () => {
    const resultPath = writeRun('for-missing', makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH } }))
    const missing = path.join(workDir, 'nope', 'baseline.json')
    const { code, err } = await runCommand(resultPath, missing)
    expect(code).toBe(2)
    expect(err).toContain('baseline')
    expect(err).toContain(missing)
    expect(err).toMatch(/no such file/)
  })

  it('a corrupt baseline: exit 2, "not valid JSON"', async () => {
    const resultPath = writeRun('for-corrupt', makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH } }))
    const corrupt = writeRun('corrupt', '{"schemaVersion": 1, "trials": [')
    const { code, err } = await runCommand(resultPath, corrupt)
    expect(code).toBe(2)
    expect(err).toMatch(/baseline: .*corrupt.*not valid JSON/)
  })

  it('a baseline of another schema version: exit 2, names schemaVersion', async () => {
    const resultPath = writeRun('for-version', makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH } }))
    const other = writeRun('v99', { ...baseline, schemaVersion: 99 })
    const { code, err } = await runCommand(resultPath, other)
    expect(code).toBe(2)
    expect(err).toMatch(/schemaVersion 99/)
  })

  it('a baseline of the wrong shape: exit 2, names the problem', async () => {
    const resultPath = writeRun('for-shape', makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH } }))
    const { trials: _trials, ...withoutTrials } = baseline
    const { code, err } = await runCommand(resultPath, writeRun('shape', withoutTrials))
    expect(code).toBe(2)
    expect(err).toMatch(/trials/)
  })

  it('a config file overrides margins; a bad one is exit 2 naming the key', async () => {
    // A 3% p50 change: within the default ±5% margin, past a 1% margin.
    const resultPath = writeRun('config', makeRun({ label: 'x', seed: 2, scenarios: { health: HEALTH, token: TOKEN } }))
    const config = path.join(workDir, 'authbench.config.json')
    writeFileSync(config, JSON.stringify({ margins: { p50Us: 0.5 }, gatedMetrics: ['p50Us'] }))
    const { code, out } = await runCommand(resultPath, baselinePath, { configPath: config })
    expect(code).toBe(0)
    const comparison = writtenResult(out).comparison
    expect(comparison?.settings.margins.p50Us).toBe(0.5)
    // Against a stored baseline the baseline margins apply.
    expect(comparison?.settings.margins.p99Us).toBe(0.1)
    writeFileSync(config, JSON.stringify({ margins: { p99Us: -1 } }))
    const bad = await runCommand(resultPath, baselinePath, { configPath: config })
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/margins\.p99Us/)
    writeFileSync(config, JSON.stringify({ gate: { margins: { p50Us: 0.5 } }, run: { anything: true } }))
    const unknown = await runCommand(resultPath, baselinePath, { configPath: config })
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain(`${config}: unknown key "run"`)
  })
})

describe('a margin on each side', () => {
  it('decideVerdict judges the bad side at margin and the good side at improvementMargin', () => {
    const throughput = (low: number, high: number) =>
      decideVerdict({ interval: { low, high }, margin: 0.5, improvementMargin: 1, better: 'higher', pValue: 0.01, alpha: 0.05, requireSignificance: true }).verdict
    expect(throughput(-0.45, -0.4)).toBe('no-change')
    expect(throughput(0.6, 0.9)).toBe('no-change')
    expect(throughput(-0.7, -0.55)).toBe('regression')
    expect(throughput(1.1, 1.4)).toBe('improvement')
    expect(throughput(0.8, 1.2)).toBe('inconclusive')
    const cpu = (low: number, high: number) =>
      decideVerdict({ interval: { low, high }, margin: 1, improvementMargin: 0.5, better: 'lower', pValue: 0.01, alpha: 0.05, requireSignificance: true }).verdict
    expect(cpu(0.7, 0.9)).toBe('no-change')
    expect(cpu(1.05, 1.3)).toBe('regression')
    expect(cpu(-0.45, -0.4)).toBe('no-change')
    expect(cpu(-0.6, -0.55)).toBe('improvement')
  })

  it('formatMargin prints the band low end first, and ± when the sides agree', () => {
    expect(formatMargin({ margin: 0.5, improvementMargin: 1, better: 'higher', changeKind: 'relative' })).toBe('−50.0% / +100.0%')
    expect(formatMargin({ margin: 1, improvementMargin: 0.5, better: 'lower', changeKind: 'relative' })).toBe('−50.0% / +100.0%')
    expect(formatMargin({ margin: 0.05, better: 'lower', changeKind: 'relative' })).toBe('±5.0%')
    expect(formatMargin({ margin: 0.002, improvementMargin: 0.002, better: 'lower', changeKind: 'absolute' })).toBe('±0.20 pp')
  })
})
