// The calibration as a yardstick between machines: the same code measured on a machine half as
// fast (every throughput and the calibration halved, CPU per request doubled) must compare as
// "no change" once normalised; and compare says so when the yardstick cannot be trusted (its
// slices were unsteady, or it moved otherwise than the health scenario, which drives the same GET /).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkCalibration } from '../../harness/stats/compare.ts'
import { compareResults } from '../../harness/reporters/headline.ts'
import type { RunResult } from '../../harness/types.ts'
import { assertResult } from '../../harness/result-io.ts'

const committed = assertResult(JSON.parse(readFileSync(new URL('../../reports/baseline.json', import.meta.url), 'utf8')), 'reports/baseline.json')
// The committed baseline is a real run and may hold an invalid trial, which the gate never judges;
// the property here is about the trials it does judge.
// Its calibration's own steadiness is checked where it is recorded (the run warns); here a steady
// one is assumed, so that what is tested is the normalisation.
const base: RunResult = {
  ...committed,
  ...(committed.calibration ? { calibration: { ...committed.calibration, spread: 0.02 } } : {}),
  trials: committed.trials.filter((t) => t.validity.state === 'valid')
}

/** The same run on a machine whose speed is `speed` × this one's, the calibration scaled by `calibrationSpeed`. */
function onOtherMachine(speed: number, calibrationSpeed = speed, spread = 0.02): RunResult {
  return {
    ...base,
    environment: { ...base.environment, cpuModel: 'Another CPU @ 1.0GHz', hostname: 'other' },
    calibration: {
      throughputRps: (base.calibration?.throughputRps ?? 0) * calibrationSpeed,
      cpuUsPerRequest: (base.calibration?.cpuUsPerRequest ?? 0) / calibrationSpeed,
      samplesRps: [1, 1, 1].map(() => (base.calibration?.throughputRps ?? 0) * calibrationSpeed),
      spread
    },
    trials: base.trials.map((t) => ({
      ...t,
      throughputRps: t.throughputRps * speed,
      ...(t.server ? { server: { ...t.server, cpuUsPerRequest: t.server.cpuUsPerRequest === null ? null : t.server.cpuUsPerRequest / speed } } : {})
    }))
  }
}

const verdictsOf = (c: ReturnType<typeof compareResults>, metric: string): string[] => c.scenarios.map((s) => s.metrics.find((m) => m.metric === metric)?.verdict ?? 'missing')

describe('calibration', () => {
  it('the baseline has a calibration to normalise by', () => {
    expect(base.calibration?.throughputRps).toBeGreaterThan(0)
  })

  it('the same code on a machine half as fast: normalised throughput and CPU µs/req change by 0, never a regression, and no warning', () => {
    const c = compareResults(base, onOtherMachine(0.5))
    expect(c.environment.normalisation).not.toBeNull()
    for (const metric of ['throughputRps', 'cpuUsPerRequest']) {
      for (const s of c.scenarios) {
        const m = s.metrics.find((x) => x.metric === metric)
        expect(m?.normalised, `${s.scenario} ${metric}`).toBe(true)
        expect(Math.abs(m?.change ?? 1), `${s.scenario} ${metric}`).toBeLessThan(1e-9)
      }
      // With the baseline's own trial-to-trial noise on both sides, "no change" or "inconclusive".
      expect(
        verdictsOf(c, metric).every((v) => v === 'no-change' || v === 'inconclusive'),
        verdictsOf(c, metric).join()
      ).toBe(true)
    }
    expect(checkCalibration(base, onOtherMachine(0.5))).toEqual([])
  })

  it('a calibration that moved 7× where health moved 4.5× (the cold reading the issue found) is called out', () => {
    const other = onOtherMachine(1 / 4.5, 1 / 7)
    const notes = checkCalibration(base, other)
    expect(notes.join('\n')).toMatch(/calibration moved ×0\.14 .* health scenario ×0\.22: normalised throughput may be off by \+56%/)
    expect(compareResults(base, other).notes.join('\n')).toContain('may be off by')
  })

  it('an unsteady calibration is called out', () => {
    expect(checkCalibration(base, onOtherMachine(0.5, 0.5, 0.3)).join('\n')).toMatch(/current calibration was unsteady \(slices ±15%\)/)
  })
})
