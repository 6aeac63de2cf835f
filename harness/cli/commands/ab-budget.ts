// `ab --budget <time>`: a first round of pairs for every scenario, then the rest of the time on
// the scenarios whose verdict is still undecided, a few pairs at a time, judged by the
// group-sequential rule of harness/stats/sequential.ts so that looking after every round does not
// raise the false-alarm rate. A scenario stops when it is decided (a regression, or no gated
// metric inconclusive); the run stops when none is undecided or no further round fits the budget.
import { compareAB } from '../../reporters/headline.ts'
import { formatP } from '../../stats/sensitivity.ts'
import { SEQUENTIAL_DESIGN, SEQUENTIAL_METHOD, isDecided, lookAlpha } from '../../stats/sequential.ts'
import { summarizeScenario } from '../../stats/summary.ts'
import type { CompareSettings, Comparison, RunResult, TrialResult } from '../../types.ts'
import { runInterleaved } from './ab.ts'
import type { InterleavedRun } from './ab.ts'
import type { CommandIo } from '../io.ts'

export interface ScenarioLook {
  look: number
  pairs: number
  /** The level of the scenario's last look. */
  alpha: number
}

export interface BudgetedRun {
  result: RunResult
  /** Per scenario, the settings its last look was judged at (compareAB's scenarioSettings). */
  scenarioSettings: Record<string, CompareSettings>
  looks: Record<string, ScenarioLook>
  spentMs: number
  budgetMs: number
}

/** Appends a later round's trials, numbering its pairs and trials after the scenario's earlier ones. */
function appendRound(into: RunResult, round: RunResult): void {
  for (const scenario of round.scenarios) {
    const earlier = into.trials.filter((t) => t.scenario === scenario)
    const pairOffset = earlier.reduce((max, t) => Math.max(max, (t.pair ?? -1) + 1), 0)
    const trialOffset = earlier.length
    for (const trial of round.trials.filter((t) => t.scenario === scenario)) {
      into.trials.push({ ...trial, trial: trial.trial + trialOffset, ...(trial.pair === undefined ? {} : { pair: trial.pair + pairOffset }) } as TrialResult)
    }
  }
  into.summary = into.scenarios.map((name) => summarizeScenario(name, into.trials.filter((t) => t.arm === 'B')))
  if (round.aborted !== null) into.aborted = round.aborted
}

function describeMs(ms: number): string {
  const s = Math.round(ms / 1000)
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`
}

/**
 * Runs the budgeted gate. `now` is injectable for tests of the bookkeeping; the budget counts from
 * the first round's start. A round is started only when its estimate (the scenario's own last
 * seconds per pair, or the first round's average) still fits.
 */
/** How much longer than its last measured seconds per pair a round is assumed to take. */
export const ROUND_ESTIMATE_HEADROOM = 1.25

export async function runBudgeted(run: InterleavedRun, budgetMs: number, settings: CompareSettings, io: CommandIo, now: () => number = Date.now): Promise<BudgetedRun> {
  const alpha = 1 - settings.confidence
  const startedAt = now()
  const names = run.scenarios.map((s) => s.scenario.name)
  const looks: Record<string, ScenarioLook> = Object.fromEntries(names.map((n) => [n, { look: 1, pairs: run.pairs, alpha: lookAlpha(alpha, 1) }]))
  const settingsOf = (): Record<string, CompareSettings> =>
    Object.fromEntries(names.map((n) => [n, { ...settings, confidence: 1 - (looks[n] as ScenarioLook).alpha }]))

  if (run.progress) io.stderr(`ab --budget ${describeMs(budgetMs)}: first round, ${run.pairs} pair(s) per scenario; then ${SEQUENTIAL_DESIGN.stepPairs} more at a time where undecided (${SEQUENTIAL_METHOD})\n`)
  const result = await runInterleaved(run, io)
  const firstMs = now() - startedAt
  const perPairMs = new Map(names.map((n) => [n, firstMs / Math.max(1, run.pairs * names.length)]))
  if (firstMs > budgetMs) io.stderr(`warning: the first round alone took ${describeMs(firstMs)}, past the --budget of ${describeMs(budgetMs)}: no further round\n`)

  let round = 0
  while (result.aborted === null && !io.signal?.aborted) {
    const comparison: Comparison = compareAB(result, { settings, scenarioSettings: settingsOf() })
    const undecided = comparison.scenarios.filter((s) => !isDecided(s.metrics.filter((m) => m.gated).map((m) => m.verdict))).map((s) => s.scenario)
    if (undecided.length === 0) break
    let ranAny = false
    for (const name of undecided) {
      // A quarter's headroom: a pair's time varies with process start-up and with whatever else the
      // machine runs, and the budget is a ceiling the user plans CI around, not a target.
      const estimateMs = (perPairMs.get(name) as number) * SEQUENTIAL_DESIGN.stepPairs * ROUND_ESTIMATE_HEADROOM
      if (now() - startedAt + estimateMs > budgetMs) continue
      const sp = run.scenarios.find((s) => s.scenario.name === name) as InterleavedRun['scenarios'][number]
      round++
      const t0 = now()
      const more = await runInterleaved({ ...run, scenarios: [sp], pairs: SEQUENTIAL_DESIGN.stepPairs, seed: run.seed + 7_919 * round, calibration: false, progress: run.progress }, io)
      perPairMs.set(name, (now() - t0) / SEQUENTIAL_DESIGN.stepPairs)
      appendRound(result, more)
      const look = (looks[name] as ScenarioLook).look + 1
      looks[name] = { look, pairs: run.pairs + (look - 1) * SEQUENTIAL_DESIGN.stepPairs, alpha: lookAlpha(alpha, look) }
      if (run.progress) io.stderr(`ab --budget: ${name} look ${look} at ${looks[name]?.pairs} pairs, level ${formatP(lookAlpha(alpha, look))}; ${describeMs(now() - startedAt)} of ${describeMs(budgetMs)} spent\n`)
      ranAny = true
      if (result.aborted !== null) break
    }
    if (!ranAny) break
  }
  return { result, scenarioSettings: settingsOf(), looks, spentMs: now() - startedAt, budgetMs }
}

/** Notes for the report: the design once, and each scenario's last look. */
export function budgetNotes(run: BudgetedRun, comparison: Comparison): void {
  comparison.notes.push(
    `--budget ${describeMs(run.budgetMs)}: ${describeMs(run.spentMs)} spent; ${SEQUENTIAL_METHOD}; each scenario is judged at the level of its last look (false alarms ≤ ${formatP(1 - comparison.settings.confidence)} per scenario × metric over all looks)`
  )
  for (const scenario of comparison.scenarios) {
    const look = run.looks[scenario.scenario]
    if (look !== undefined) scenario.notes.push(`sequential: look ${look.look}, ${look.pairs} pairs, judged at level ${formatP(look.alpha)} (${formatP((1 - look.alpha) * 100)}% interval)`)
  }
}
