// End to end: the budgeted A/B gate (`ab --budget`'s runner, harness/engine/ab.ts) with real target processes, real
// load and the real engine, on a small stand-in target (test/fixtures/noisy-target) in both arms.
// Its health route is quiet; its token route costs a CPU time drawn once per process, so token's
// per-pair throughput ratio spreads over a factor of several and stays undecided against the margin. Both arms run
// as a duet (the default), which keeps health's ratio near 1 on a busy machine; in 100 ms slots its
// spread reached ±50% beside the rest of the suite and it went on to a second look. Even in a duet, one
// arm's health ran 27–56% faster than the other's in every pair of one run beside the rest of the suite
// (unpinned, the scheduler favoured one target), so the margin is 80%.
// The gate must spend its extra pairs on token rather than health, and stop within the budget.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { PreparedArm } from '../../harness/cli/ab-spec.ts'
import { AbOrchestrator, budgetNotes } from '../../harness/engine/ab.ts'
import { printAbProgress } from '../../harness/cli/commands/ab.ts'
import { parseRunOptions } from '../../harness/cli/commands/run-options.ts'
import { compareAB } from '../../harness/reporters/headline.ts'
import { resolveCompareSettings } from '../../harness/stats/verdict.ts'
import { loadConfig, targetByName } from '../../harness/config.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { DUET } from '../../harness/engine/engine.ts'

const cwd = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'noisy-target')
// The repository's scenarios; the reference target's definition, started from the fixture's folder.
const config = await loadConfig({ cwd: REPO_ROOT })
const reference = targetByName(config)
const target = { ...reference, start: { ...reference.start, cwd } }
const arm = (spec: string): PreparedArm => ({ kind: 'variant', spec, commit: null, env: { LOG_LEVEL: 'warn' }, cwd, release: async () => undefined })

describe('ab --budget (end to end, small targets)', () => {
  it('spends more pairs on a noisy scenario than on a quiet one, and stops within the budget', async () => {
    let stderr = ''
    const io = { stdout: () => undefined, stderr: (t: string) => void (stderr += t) }
    const settings = resolveCompareSettings({ gatedMetrics: ['throughputRps'], margins: { throughputRps: 0.8 } })
    const opts = parseRunOptions({ scenario: ['health', 'token'], duration: '400ms', warmup: '100ms', warmupMax: '100ms', connections: '8', label: 'budget' }, config)
    // The first round alone takes ~20 s on a quiet 2-core machine and two to four times that
    // beside the rest of the suite, and a round starts only if 1.25× its estimate fits: the budget
    // leaves room for at least one more round either way (at 90 s, one CI run had none left).
    const budgetMs = 120_000
    const started = Date.now()
    const orchestrator = new AbOrchestrator()
    printAbProgress(orchestrator, io, true)
    const run = await orchestrator.runBudgeted(
      {
        target,
        arms: { A: arm('A'), B: arm('B') },
        scenarios: opts.scenarios,
        pairs: 6,
        seed: 3,
        label: 'budget',
        calibration: false,
        pin: false,
        errorRateThreshold: 0.01,
        lateShareThreshold: 0.05,
        maxPoolSize: 1000,
        slotMs: DUET
      },
      budgetMs,
      settings
    )
    const elapsedMs = Date.now() - started
    expect(run.result.aborted, stderr).toBeNull()
    const pairsOf = (scenario: string) => new Set(run.result.trials.filter((t) => t.scenario === scenario).map((t) => t.pair)).size
    expect(pairsOf('health'), stderr).toBe(6)
    expect(pairsOf('token'), stderr).toBeGreaterThanOrEqual(9)
    expect((pairsOf('token') - 6) % 3).toBe(0)
    expect(run.looks.token?.pairs).toBe(pairsOf('token'))
    // Pair numbers run on across rounds without gaps, each pair with both arms.
    const tokenTrials = run.result.trials.filter((t) => t.scenario === 'token')
    for (let pair = 0; pair < pairsOf('token'); pair++)
      expect(
        tokenTrials
          .filter((t) => t.pair === pair)
          .map((t) => t.arm)
          .sort()
      ).toEqual(['A', 'B'])
    // The gate's own clock stops inside the budget; the caller's wall clock may add the last
    // target's stop (a second at most).
    expect(run.spentMs, stderr).toBeLessThanOrEqual(budgetMs)
    expect(elapsedMs, stderr).toBeLessThanOrEqual(budgetMs + 1_000)

    const comparison = compareAB(run.result, { settings, scenarioSettings: run.scenarioSettings })
    budgetNotes(run, comparison)
    const health = comparison.scenarios.find((s) => s.scenario === 'health')
    const token = comparison.scenarios.find((s) => s.scenario === 'token')
    expect(health?.metrics.find((m) => m.metric === 'throughputRps')?.verdict).toBe('no-change')
    expect(health?.notes.join(' ')).toMatch(/sequential: look 1, 6 pairs, judged at level 0\.035/)
    const tokenLook = run.looks.token
    expect(tokenLook?.look).toBeGreaterThanOrEqual(2)
    expect(token?.notes.join(' ')).toContain(`sequential: look ${tokenLook?.look}, ${tokenLook?.pairs} pairs, judged at level `)
    expect(comparison.notes.join(' ')).toMatch(/--budget 2 min 0 s: (\d+ min )?\d+ s spent; group-sequential, alpha spending/)
  }, 200_000)
})
