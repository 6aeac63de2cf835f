// Overload, side by side in one test: the same closed-model flood (many times the connections the
// target serves at once) against phase2, which sheds at the door and on event-loop pressure, and
// against phase1, which sheds nothing. Measured with scripts/overload.ts's own trial, so the script
// that gives the figures in docs/reference-target.md and docs/commands.md is tested too. The door's limit is lowered to 64 so that a flood
// of 600 connections, small enough for CI, is ~10× it. The contrast asserted on every run: phase2
// answers part of the flood 503 and keeps its admitted p99 bounded; phase1 sheds nothing.
import { afterEach, describe, expect, it } from 'vitest'
import { overloadTrial } from '../../scripts/overload.ts'
import type { OverloadFigures } from '../../scripts/overload.ts'
import { TargetProcess, canPin, pinProcess } from '../../harness/engine/target-process.ts'
import { cpus } from 'node:os'
import { referenceTarget } from '../../scenarios/reference-target.ts'

const FLOOD = { connections: 600, durationMs: 2_500, rateRps: 0, probeRps: 200, recoveryWatchMs: 2_000 }
const PIN = canPin()
const started: TargetProcess[] = []
afterEach(async () => {
  for (const t of started.splice(0)) await t.stop()
  if (PIN) await pinProcess(process.pid, `0-${cpus().length - 1}`)
})

async function flood(preset: string, env: Record<string, string> = {}): Promise<OverloadFigures> {
  const target = await TargetProcess.start({ ...referenceTarget({ PRESET: preset, LOG_LEVEL: 'warn', ...env }), pinCpus: PIN ? '0' : null })
  started.push(target)
  return await overloadTrial(target.url, target.pid ?? 0, FLOOD)
}

describe('overload', () => {
  it("phase2 sheds a flood with 503s and keeps its admitted p99 bounded (below phase1's, in the strict suite); phase1 sheds nothing", async () => {
    if (PIN) await pinProcess(process.pid, '1')
    const shedding = await flood('phase2', { SHED_MAX_ACTIVE_CONNECTIONS: '64' })
    const none = await flood('phase1')
    const line = (f: OverloadFigures): string =>
      `shed ${f.shed} of ${f.responses}, admitted p99 ${f.admittedP99Ms} ms, other ${JSON.stringify(f.otherByStatus)}, RSS ${f.idleRssMb.toFixed(0)} → ${f.peakRssMb.toFixed(0)} MB, recovered ${f.recoveryMs} ms`
    const detail = `phase2: ${line(shedding)}; phase1: ${line(none)}`
    expect(shedding.shed, detail).toBeGreaterThan(0)
    expect(shedding.admitted, detail).toBeGreaterThan(0)
    expect(none.shed, detail).toBe(0)
    expect(none.other, detail).toBe(0)
    // The admitted requests' p99 stays bounded (the issue's 250 ms). How much lower it is than
    // phase1's is a performance figure (scripts/overload.ts, docs/commands.md): alone on a quiet VM phase2's
    // was about a third of phase1's, but beside the rest of the suite, with the refused
    // connections reconnecting and the other test files on the same cores, it came out at 71 ms
    // against 85 ms. So the comparison is asserted only in the standalone suite (npm run test:resilience).
    expect(shedding.admittedP99Ms as number, detail).toBeLessThan(250)
    if (process.env.RESILIENCE_STRICT === '1') expect(shedding.admittedP99Ms as number, detail).toBeLessThan(none.admittedP99Ms as number)
    // On every run, the weaker form: every request of the flood was answered (200, or shed with
    // 503/429; none reset or timed out), and shedding never makes the admitted p99 much worse than
    // no shedding at all. Two runs beside other heavy jobs on a shared machine measured 0.24× and
    // 0.82× phase1's, the loaded CI run above 0.84×; 1.5× leaves room for that noise.
    expect(shedding.other, detail).toBe(0)
    expect(shedding.admittedP99Ms as number, detail).toBeLessThan(1.5 * (none.admittedP99Ms as number))
    // The flood leaves nothing behind: memory stays bounded and the target answers a light load
    // again, as fast as before, within the watch.
    expect(shedding.peakRssMb - shedding.idleRssMb, detail).toBeLessThan(200)
    expect(shedding.recoveryMs, detail).not.toBeNull()
  }, 90_000)
})
