// How accurate is the gate, on this machine? Runs real `ab` gate runs (interleaved ABBA/BAAB, a
// fresh target per trial, paired comparison) and counts what they say:
//   A/A             the same config on both sides → how often it cries "regression" (false alarms);
//   +5/+10/+20% CPU INJECT_CPU_US set so that the measured CPU µs/req rises by that share → detection;
//   tail only       INJECT_DELAY_MS=50 on 1% of requests → does p99 see it while p50 stays quiet?
// Then it re-judges the same runs under other margins, so the defaults in harness/stats/verdict.ts can be
// chosen from the figures, and prints markdown for docs/gate-accuracy.md.
//
//   node --import tsx scripts/gate-accuracy.ts [--scenario token] [--aa-runs 20] [--runs 10]
//        [--pairs 6] [--slot 500ms] [--duration 4s] [--warmup 1s] [--preset phase2] [--seed 1] [--out dir]
// (the defaults are `authbench ab`'s own, so the figures describe the gate as users run it)
//   node --import tsx scripts/gate-accuracy.ts --analyse <dir>   (re-judge saved gate runs only)
//   … --readme docs/gate-accuracy.md [--readme-block noisy]   also writes the tables between that
//        file's gate-accuracy markers (of that block)
//   … --neighbour [--neighbour-duty 0.35] [--neighbour-burst-ms 150]   runs everything beside a
//        noisy neighbour pinned to the target's core (scripts/noisy-neighbour.ts)
//   … --runs 0   A/A runs only: the noise (per-pair SD, interval half-widths) without the levels
//   … --levels 5,10,20,tail   which levels beside A/A (CPU shares in percent, and the tail-only change)
//
// The knob is calibrated first. Two A/A runs give the scenario's CPU µs/req; one gate run with
// INJECT_CPU_US at 20% of it measures what a knob µs really costs under this load (1.31 µs in the
// run docs/gate-accuracy.md shows: the loop is calibrated on an idle core at start-up, and under load the machine runs every
// instruction a little slower, the request's own as well), and the levels are scaled by that, so
// "+10%" is a measured +10%, not a nominal one. The calibration run is kept (knob-cal-0.json) but
// not counted.
//
// Conditions run round-robin after the calibration (aa, aa, +5%, +10%, +20%, tail, aa, …), so
// a noisy spell of the shared machine hits every condition alike, and stopping the script early
// (Ctrl-C) still leaves a balanced set of saved runs for --analyse.
//
// Both arms carry the injection hook (A with a 1 ms delay on one request in a million, which costs
// nothing measurable) so that the hook's own per-request overhead is not counted as the change.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { prepareArms, releaseAll, resolveArmSpec } from '../harness/cli/ab-spec.ts'
import type { PreparedArm } from '../harness/cli/ab-spec.ts'
import { AB_DEFAULTS } from '../harness/cli/commands/ab.ts'
import { AbOrchestrator } from '../harness/engine/ab.ts'
import { parseDurationMs, parseIntOption, parseRunOptions } from '../harness/cli/commands/run-options.ts'
import { compareAB } from '../harness/reporters/headline.ts'
import { loadConfig, targetByName } from '../harness/config.ts'
import { DUET } from '../harness/engine/engine.ts'
import { median, quantileSorted } from '../harness/stats/stats.ts'
import { REPO_ROOT, canPin } from '../harness/engine/target-process.ts'
import type { CompareSettings, Comparison, MetricName, RunResult } from '../harness/types.ts'
import { defaultSettingsFor, resolveCompareSettings } from '../harness/stats/verdict.ts'

const GATE_DEFAULTS = defaultSettingsFor('paired')

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'token' },
    'aa-runs': { type: 'string', default: '20' },
    runs: { type: 'string', default: '10' },
    pairs: { type: 'string', default: String(AB_DEFAULTS.pairs) },
    slot: { type: 'string', default: AB_DEFAULTS.slotMs === DUET ? 'duet' : `${AB_DEFAULTS.slotMs}ms` },
    duration: { type: 'string', default: `${AB_DEFAULTS.durationMs}ms` },
    warmup: { type: 'string', default: `${AB_DEFAULTS.warmupMs}ms` },
    preset: { type: 'string', default: 'phase2' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    analyse: { type: 'string' },
    readme: { type: 'string' },
    'readme-block': { type: 'string' },
    neighbour: { type: 'boolean', default: false },
    'neighbour-duty': { type: 'string', default: '0.35' },
    'neighbour-burst-ms': { type: 'string', default: '150' },
    levels: { type: 'string', default: '5,10,20,tail' }
  }
})

const aaRuns = parseIntOption('--aa-runs', args['aa-runs'] as string, 1, 1_000)
const runs = parseIntOption('--runs', args.runs as string, 0, 1_000)
// Which conditions beside A/A: CPU shares in percent and/or `tail`. At full size (20 A/A + 10 a
// level) every level adds ten gate runs of about two minutes each.
const LEVEL_NAMES = new Set(['5', '10', '20', 'tail'])
const levelNames = (args.levels as string)
  .split(',')
  .map((l) => l.trim())
  .filter((l) => l !== '')
for (const l of levelNames) {
  if (!LEVEL_NAMES.has(l)) {
    process.stderr.write(`gate-accuracy: --levels: unknown level "${l}" (use 5, 10, 20 and tail, comma-separated)\n`)
    process.exit(2)
  }
}
const pairs = parseIntOption('--pairs', args.pairs as string, 1, 100)
const durationMs = parseDurationMs('--duration', args.duration as string, false)
const slotMs = args.slot === 'duet' ? DUET : parseDurationMs('--slot', args.slot as string, true)
const warmupMs = parseDurationMs('--warmup', args.warmup as string, true)
const baseSeed = parseIntOption('--seed', args.seed as string, 0, 2 ** 30)
const scenario = args.scenario as string
const preset = args.preset as string
const outDir = args.analyse ?? args.out ?? path.join(tmpdir(), `authbench-gate-accuracy-${Date.now()}`)
mkdirSync(outDir, { recursive: true })

const config = await loadConfig({ cwd: path.resolve(import.meta.dirname, '..') })
const target = targetByName(config)
const opts = parseRunOptions({ scenario: [scenario], duration: `${durationMs}ms`, warmup: `${warmupMs}ms`, label: `gate-${scenario}` }, config)
// The engine's warnings go to stderr; progress lines would drown the script's own.
const orchestrator = new AbOrchestrator().on('warning', (message) => void process.stderr.write(`warning: ${message}\n`))
const log = (line: string): void => void process.stderr.write(`${line}\n`)

interface NeighbourSettings {
  duty: number
  burstMs: number
}

const neighbourSettings: NeighbourSettings | null = args.neighbour === true ? { duty: Number(args['neighbour-duty']), burstMs: Number(args['neighbour-burst-ms']) } : null

/** Starts the noisy neighbour on the target's core (core 0, where the harness pins targets). */
function startNeighbour(settings: NeighbourSettings): ChildProcess {
  const script = [
    '--import',
    'tsx',
    path.join(REPO_ROOT, 'scripts/noisy-neighbour.ts'),
    '--duty',
    String(settings.duty),
    '--burst-ms',
    String(settings.burstMs),
    '--seed',
    String(baseSeed)
  ]
  const pinned = canPin()
  if (!pinned) log('gate-accuracy: no taskset or one core: the neighbour runs unpinned')
  const child = pinned
    ? spawn('taskset', ['-c', '0', process.execPath, ...script], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn(process.execPath, script, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  return child
}

/**
 * The hook, at no measurable cost, on both sides (see the header). Load shedding stays as the
 * preset has it: it sheds only on the process's own work (SHED_MIN_CPU_SHARE), so neither the
 * neighbour's bursts nor the other arm of a duet trip it.
 */
const HOOK_ONLY = { INJECT_DELAY_MS: '1', INJECT_DELAY_RATIO: '0.000001' }

interface Condition {
  name: string
  /** Expected direction of the true effect on CPU µs/req (+0.1 = 10% more CPU), for the table. */
  injectedCpuShare: number | null
  envB: Record<string, string>
  runs: number
}

interface GateRun {
  condition: string
  index: number
  result: RunResult
}

let runCounter = 0
const totalRunsPlanned = aaRuns + (runs > 0 ? levelNames.length * runs + 1 : 0)
const started = Date.now()

async function gateRun(condition: Condition, index: number, armA: PreparedArm, armB: PreparedArm): Promise<GateRun> {
  const seed = baseSeed * 10_007 + runCounter
  runCounter++
  const result = await orchestrator.run({
    target,
    arms: { A: armA, B: armB },
    scenarios: opts.scenarios,
    pairs,
    seed,
    label: `gate-${condition.name}-${index}`,
    calibration: false,
    pin: true,
    errorRateThreshold: opts.errorRateThreshold,
    lateShareThreshold: opts.lateShareThreshold,
    maxPoolSize: opts.maxPoolSize,
    slotMs
  })
  writeFileSync(path.join(outDir, `${condition.name}-${index}.json`), JSON.stringify(result))
  const c = compareAB(result, { settings: resolveCompareSettings({}, 'settings', 'paired') })
  const elapsedS = (Date.now() - started) / 1000
  const eta = (elapsedS / runCounter) * (totalRunsPlanned - runCounter)
  const metric = (m: MetricName): string => {
    const x = c.scenarios[0]?.metrics.find((k) => k.metric === m)
    return `${m} ${x?.change == null ? '—' : `${(x.change * 100).toFixed(1)}%`} ${x?.verdict ?? '—'}`
  }
  log(
    `[${runCounter}/${totalRunsPlanned}] ${condition.name} #${index + 1}: ${c.verdict}; ${metric('throughputRps')}; ${metric('cpuUsPerRequest')}; ${metric('p50Us')}; ${metric('p99Us')} (elapsed ${Math.round(elapsedS)} s, ~${Math.round(eta)} s left)`
  )
  if (result.aborted !== null) throw new Error(`gate run stopped: ${result.aborted.reason}`)
  return { condition: condition.name, index, result }
}

// ---------------------------------------------------------------------------------------------
// Judging the stored runs under given settings

interface Rates {
  runs: number
  /** Overall verdict 'regression' (what fails CI). */
  overall: number
  byMetric: Record<MetricName, number>
  invalid: number
  /** Overall verdict 'improvement', or any gated metric 'improvement': in A/A as false as a regression. */
  anyImprovement: number
}

const METRIC_ORDER: MetricName[] = ['throughputRps', 'cpuUsPerRequest', 'p50Us', 'p95Us', 'p99Us', 'errorRate']

function judge(gateRuns: readonly GateRun[], settings: CompareSettings): { rates: Rates; comparisons: Comparison[] } {
  const comparisons = gateRuns.map((g) => compareAB(g.result, { settings }))
  const byMetric = Object.fromEntries(METRIC_ORDER.map((m) => [m, 0])) as Record<MetricName, number>
  let overall = 0
  let invalid = 0
  let anyImprovement = 0
  for (const c of comparisons) {
    if (c.verdict === 'regression') overall++
    if (c.verdict === 'invalid') invalid++
    if ((c.scenarios[0]?.metrics ?? []).some((m) => m.gated && m.verdict === 'improvement')) anyImprovement++
    for (const m of c.scenarios[0]?.metrics ?? []) if (m.verdict === 'regression') byMetric[m.metric]++
  }
  return { rates: { runs: comparisons.length, overall, byMetric, invalid, anyImprovement }, comparisons }
}

function medianChange(comparisons: readonly Comparison[], metric: MetricName): number | null {
  const values = comparisons.map((c) => c.scenarios[0]?.metrics.find((m) => m.metric === metric)?.change).filter((v): v is number => typeof v === 'number')
  return values.length === 0 ? null : median(values)
}

function medianHalfWidth(comparisons: readonly Comparison[], metric: MetricName): number | null {
  const values = comparisons
    .map((c) => c.scenarios[0]?.metrics.find((m) => m.metric === metric)?.interval)
    .filter((i): i is NonNullable<typeof i> => i != null)
    .map((i) => (i.high - i.low) / 2)
  return values.length === 0 ? null : median(values)
}

/** Standard deviation of a gate run's per-pair B/A ratio for one metric (valid pairs only). */
function pairSd(result: RunResult, metric: 'throughputRps' | 'cpuUsPerRequest'): number {
  const value = (t: RunResult['trials'][number]): number => (metric === 'throughputRps' ? t.throughputRps : (t.server?.cpuUsPerRequest ?? Number.NaN))
  const ratios: number[] = []
  for (const a of result.trials.filter((t) => t.arm === 'A' && t.validity.state === 'valid')) {
    const b = result.trials.find((t) => t.arm === 'B' && t.pair === a.pair && t.scenario === a.scenario && t.validity.state === 'valid')
    if (b !== undefined) ratios.push(value(b) / value(a))
  }
  const finite = ratios.filter(Number.isFinite)
  if (finite.length < 2) return Number.NaN
  const mean = finite.reduce((x, y) => x + y, 0) / finite.length
  return Math.sqrt(finite.reduce((x, y) => x + (y - mean) ** 2, 0) / (finite.length - 1))
}

function describeSpread(values: readonly number[]): string {
  const finite = values.filter(Number.isFinite).sort((x, y) => x - y)
  if (finite.length === 0) return '—'
  const f = (v: number): string => `${(v * 100).toFixed(1)}%`
  return `${f(median(finite))} [${f(quantileSorted(finite, 0))}, ${f(quantileSorted(finite, 1))}]`
}

const pct = (n: number, d: number): string => (d === 0 ? '—' : `${n}/${d} (${Math.round((100 * n) / d)}%)`)
const signed = (v: number | null): string => (v === null ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)}%`)

// ---------------------------------------------------------------------------------------------

const CALIBRATION_AA_RUNS = 2

async function main(): Promise<void> {
  if (args.analyse !== undefined) {
    const saved = loadSaved(args.analyse)
    printReport(saved.conditions, saved.byCondition, saved.cpuUs, `\`node --import tsx scripts/gate-accuracy.ts --analyse <dir>\` over ${saved.total} saved gate runs`)
    return
  }
  log(
    `gate-accuracy: scenario ${scenario}, preset ${preset}, ${pairs} pairs × ${durationMs} ms (+${warmupMs} ms warm-up) per gate run; ${aaRuns} A/A runs, ${runs} runs per injected level; raw results in ${outDir}`
  )
  const prepared: PreparedArm[] = []
  const arm = async (option: string, env: Record<string, string>): Promise<PreparedArm> => {
    const [p] = await prepareArms([await resolveArmSpec(option, preset, { ...HOOK_ONLY, ...env }, target)], { targetCwd: target.start.cwd ?? config.dir })
    prepared.push(p as PreparedArm)
    return p as PreparedArm
  }
  const byCondition = new Map<string, GateRun[]>()
  const record = (g: GateRun): void => void byCondition.set(g.condition, [...(byCondition.get(g.condition) ?? []), g])
  const neighbour = neighbourSettings === null ? null : startNeighbour(neighbourSettings)
  const metaFile = path.join(outDir, 'conditions.meta')
  const loadStart = loadavg()
  writeFileSync(metaFile, JSON.stringify({ neighbour: neighbourSettings, loadStart, slotMs }))
  try {
    const armA = await arm('--a', {})
    const aa: Condition = { name: 'aa', injectedCpuShare: 0, envB: {}, runs: aaRuns }
    const armAA = await arm('--b', {})
    for (let i = 0; i < Math.min(CALIBRATION_AA_RUNS, aaRuns); i++) record(await gateRun(aa, i, armA, armAA))
    if (runs === 0) {
      for (let i = CALIBRATION_AA_RUNS; i < aaRuns; i++) record(await gateRun(aa, i, armA, armAA))
      printReport([aa], byCondition, cpuOf(byCondition.get('aa') ?? []), `\`node --import tsx scripts/gate-accuracy.ts ${process.argv.slice(2).join(' ')}\``)
      return
    }

    // Calibrate the knob: the scenario's CPU µs/req, from the first A/A runs' A arms, then what
    // one knob µs costs under this load, from one gate run at 20% (see the header).
    const cpuUs = cpuOf(byCondition.get('aa') ?? [])
    if (!Number.isFinite(cpuUs) || cpuUs <= 0) throw new Error('no CPU µs/req measured in the A/A runs; is /metrics reachable?')
    const calUs = Math.max(1, Math.round(cpuUs * 0.2))
    const cal: Condition = { name: 'knob-cal', injectedCpuShare: null, envB: { INJECT_CPU_US: String(calUs) }, runs: 1 }
    const calRun = await gateRun(cal, 0, armA, await arm('--b', cal.envB))
    record(calRun)
    const calChange = compareAB(calRun.result, { settings: resolveCompareSettings({}, 'settings', 'paired') }).scenarios[0]?.metrics.find(
      (m) => m.metric === 'cpuUsPerRequest'
    )?.change
    // Measured CPU µs per knob µs; outside 0.5-3 the calibration run itself was disturbed, so trust the nominal cost.
    const measuredCost = typeof calChange === 'number' ? (calChange * cpuUs) / calUs : Number.NaN
    const knobCost = Number.isFinite(measuredCost) && measuredCost >= 0.5 && measuredCost <= 3 ? measuredCost : 1
    const knobFor = (share: number): number => Math.max(1, Math.round((cpuUs * share) / knobCost))
    log(
      `gate-accuracy: ${scenario} costs ${cpuUs.toFixed(1)} CPU µs/req; INJECT_CPU_US=${calUs} measured ${signed(typeof calChange === 'number' ? calChange : null)} CPU µs/req, so one knob µs costs ${knobCost.toFixed(2)} µs here; INJECT_CPU_US ${[0.05, 0.1, 0.2].map(knobFor).join('/')} for +5/+10/+20%`
    )
    const levels: Condition[] = [0.05, 0.1, 0.2]
      .filter((share) => levelNames.includes(String(Math.round(share * 100))))
      .map((share) => ({ name: `cpu+${Math.round(share * 100)}%`, injectedCpuShare: share, envB: { INJECT_CPU_US: String(knobFor(share)) }, runs }))
    if (levelNames.includes('tail')) levels.push({ name: 'tail', injectedCpuShare: null, envB: { INJECT_DELAY_MS: '50', INJECT_DELAY_RATIO: '0.01' }, runs })
    const armsB = new Map<string, PreparedArm>([['aa', armAA]])
    for (const c of levels) armsB.set(c.name, await arm('--b', c.envB))
    const conditions = [aa, ...levels]
    const done = new Map<string, number>([['aa', byCondition.get('aa')?.length ?? 0]])
    // Each round gives every condition its share of the runs (A/A twice a round at 20 A/A and 10 a
    // level), so that a script stopped after any round has A/A and levels in the planned ratio.
    const perRound = (c: Condition): number => Math.max(1, Math.round(c.runs / Math.max(1, runs)))
    for (let round = 0; conditions.some((c) => (done.get(c.name) ?? 0) < c.runs); round++) {
      for (const c of conditions) {
        for (let k = 0; k < perRound(c); k++) {
          const index = done.get(c.name) ?? 0
          if (index >= c.runs) break
          record(await gateRun(c, index, armA, armsB.get(c.name) as PreparedArm))
          done.set(c.name, index + 1)
        }
      }
    }
    printReport(conditions, byCondition, cpuUs, `\`node --import tsx scripts/gate-accuracy.ts ${process.argv.slice(2).join(' ')}\``)
  } finally {
    neighbour?.kill('SIGTERM')
    writeFileSync(metaFile, JSON.stringify({ neighbour: neighbourSettings, loadStart, loadEnd: loadavg(), slotMs }))
    await releaseAll(prepared)
  }
}

function cpuOf(aaRuns: readonly GateRun[]): number {
  const cpu = aaRuns
    .flatMap((g) => g.result.trials.filter((t) => t.arm === 'A' && t.validity.state === 'valid').map((t) => t.server?.cpuUsPerRequest ?? null))
    .filter((v): v is number => v !== null)
  return median(cpu)
}

/** Saved runs from a directory (`<condition>-<index>.json`), for --analyse. */
function loadSaved(dir: string): { conditions: Condition[]; byCondition: Map<string, GateRun[]>; cpuUs: number; total: number } {
  const byCondition = new Map<string, GateRun[]>()
  let total = 0
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const m = /^(.*)-(\d+)\.json$/.exec(file)
    if (m === null) continue
    const result = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as RunResult
    const condition = m[1] as string
    byCondition.set(condition, [...(byCondition.get(condition) ?? []), { condition, index: Number(m[2]), result }])
    total++
  }
  const order = ['aa', 'cpu+5%', 'cpu+10%', 'cpu+20%', 'tail']
  const conditions = order.filter((n) => byCondition.has(n)).map((name): Condition => ({ name, injectedCpuShare: null, envB: {}, runs: byCondition.get(name)?.length ?? 0 }))
  return { conditions, byCondition, cpuUs: cpuOf(byCondition.get('aa') ?? []), total }
}

/** The INJECT_CPU_US a condition's B arm ran with, from its saved results. */
function knobOf(byCondition: ReadonlyMap<string, GateRun[]>, name: string): string {
  const first = byCondition.get(name)?.[0]?.result
  const arms = (first?.environment.targetConfig as { arms?: { B?: { env?: Record<string, string> } } } | null)?.arms
  return arms?.B?.env?.INJECT_CPU_US ?? '—'
}

interface Meta {
  scenario: string
  preset: string
  pairs: number
  durationMs: number
  warmupMs: number
  minutes: number
}

/** What the saved runs themselves say about how they were made (for --analyse). */
function metaOf(byCondition: ReadonlyMap<string, GateRun[]>): Meta {
  const all = [...byCondition.values()].flat().map((g) => g.result)
  const first = all[0]
  const name = first?.scenarios[0] ?? scenario
  const load = first?.load[name]
  const arms = (first?.environment.targetConfig as { arms?: { A?: { env?: Record<string, string> } } } | null)?.arms
  const startMs = Math.min(...all.map((r) => Date.parse(r.createdAt)))
  const endMs = Math.max(...all.flatMap((r) => r.trials.map((t) => Date.parse(t.startedAt) + t.durationMs)))
  return {
    scenario: name,
    preset: arms?.A?.env?.PRESET ?? preset,
    pairs: Math.max(0, ...all.flatMap((r) => r.trials.map((t) => (t.pair ?? 0) + 1))),
    durationMs: load?.durationMs ?? durationMs,
    warmupMs: load?.warmupMs ?? warmupMs,
    minutes: Number.isFinite(endMs - startMs) ? (endMs - startMs) / 60_000 : Number.NaN
  }
}

/** Where and how the runs were made, and the gate's default settings they are judged with first. */
function describeSetup(byCondition: ReadonlyMap<string, GateRun[]>, cpuUs: number, how: string, settings: CompareSettings): string[] {
  const meta = args.analyse === undefined ? { scenario, preset, pairs, durationMs, warmupMs, minutes: (Date.now() - started) / 60_000 } : metaOf(byCondition)
  const minutes = meta.minutes.toFixed(1)
  // How long the warm-ups ran (each at least the asked minimum, then until steady: harness/engine/warmup.ts).
  const warmed = [...byCondition.values()]
    .flat()
    .flatMap((g) => g.result.trials.map((t) => t.setup?.warmupMs))
    .filter((v): v is number => v !== undefined && v > 0)
    .sort((a, b) => a - b)
  const warmText =
    warmed.length === 0
      ? `${meta.warmupMs} ms warm-up per trial`
      : `warm-up at least ${meta.warmupMs} ms, then until steady: median ${(quantileSorted(warmed, 0.5) / 1000).toFixed(1)} s [${((warmed[0] as number) / 1000).toFixed(1)}, ${((warmed[warmed.length - 1] as number) / 1000).toFixed(1)}] per trial`
  const lines: string[] = []
  type SavedMeta = { neighbour: NeighbourSettings | null; loadStart?: number[]; loadEnd?: number[]; slotMs?: number }
  const saved: SavedMeta | null =
    args.analyse !== undefined && existsSync(path.join(args.analyse, 'conditions.meta'))
      ? (JSON.parse(readFileSync(path.join(args.analyse, 'conditions.meta'), 'utf8')) as SavedMeta)
      : null
  const slot = args.analyse === undefined ? slotMs : saved?.slotMs
  const slotText = slot === undefined ? '' : slot === DUET ? ', both arms measured at once (duet)' : slot > 0 ? `, ${slot} ms slots` : ', one trial after the other'
  const n = args.analyse === undefined ? neighbourSettings : (saved?.neighbour ?? null)
  const loads = (v: number[] | undefined): string => (v === undefined ? '?' : v.map((x) => x.toFixed(2)).join(' '))
  const loadText = saved === null ? `at the end ${loads(loadavg())}` : `${loads(saved.loadStart)} at the start, ${loads(saved.loadEnd)} at the end`
  const condition =
    n === null
      ? 'nothing else started by the script'
      : `a noisy neighbour on the target's core (scripts/noisy-neighbour.ts: duty ${n.duty}, bursts ~${n.burstMs} ms, 16 MiB cache walk)`
  lines.push(`Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}; ${condition}; load average (1, 5, 15 min) ${loadText}.`)
  lines.push('')
  lines.push(
    `Measured with ${how} on ${new Date().toISOString().slice(0, 10)}: scenario \`${meta.scenario}\`, preset \`${meta.preset}\`, ${meta.pairs} pairs per gate run${slotText}, ${meta.durationMs} ms measured per trial, ${warmText}, a fresh target per trial; ${minutes} min in all. The scenario costs ${cpuUs.toFixed(1)} CPU µs/req; the knob was set to INJECT_CPU_US=${['cpu+5%', 'cpu+10%', 'cpu+20%'].map((n) => knobOf(byCondition, n)).join('/')} for +5/+10/+20%${knobOf(byCondition, 'knob-cal') === '—' ? '' : ` (scaled by what INJECT_CPU_US=${knobOf(byCondition, 'knob-cal')} measured in a calibration gate run, not counted)`}.`
  )
  lines.push('')
  lines.push(
    `With the default settings (margins: throughput ±${settings.margins.throughputRps * 100}%, CPU µs/req ±${settings.margins.cpuUsPerRequest * 100}%, p50 ±${settings.margins.p50Us * 100}%, p95 ±${settings.margins.p95Us * 100}%, p99 ±${settings.margins.p99Us * 100}%, error rate ±${settings.margins.errorRate * 100} pp; ${Math.round(settings.confidence * 100)}% BCa interval over pairs${settings.requireSignificance ? ' and Wilcoxon signed-rank p < ' + (1 - settings.confidence).toFixed(2) : ''}):`
  )
  lines.push('')
  return lines
}

/** The default settings' table: how often the gate said regression per condition and metric, and the tail-only p50 verdicts. */
function defaultsTable(conditions: readonly Condition[], byCondition: ReadonlyMap<string, GateRun[]>, settings: CompareSettings): string[] {
  const lines: string[] = []
  lines.push(
    '| condition | gate runs | gate says regression | throughput | CPU µs/req | p50 | p95 | p99 | error rate | median Δ throughput | median Δ CPU µs/req | median Δ p50 | median Δ p99 |'
  )
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
  for (const c of conditions) {
    const g = byCondition.get(c.name) ?? []
    const { rates, comparisons } = judge(g, settings)
    const name = c.name === 'aa' ? 'A/A (false alarms)' : c.name === 'tail' ? '50 ms on 1% (tail only)' : `${c.name.replace('cpu', 'CPU ')} per request`
    lines.push(
      `| ${name} | ${rates.runs} | ${pct(rates.overall, rates.runs)} | ${pct(rates.byMetric.throughputRps, rates.runs)} | ${pct(rates.byMetric.cpuUsPerRequest, rates.runs)} | ${pct(rates.byMetric.p50Us, rates.runs)} | ${pct(rates.byMetric.p95Us, rates.runs)} | ${pct(rates.byMetric.p99Us, rates.runs)} | ${pct(rates.byMetric.errorRate, rates.runs)} | ${signed(medianChange(comparisons, 'throughputRps'))} | ${signed(medianChange(comparisons, 'cpuUsPerRequest'))} | ${signed(medianChange(comparisons, 'p50Us'))} | ${signed(medianChange(comparisons, 'p99Us'))} |`
    )
  }
  lines.push('')
  lines.push(
    'Columns per metric count gate runs whose verdict for that metric was *regression*; "gate says regression" is the overall verdict (any gated metric), which is what fails CI.'
  )
  lines.push('')
  const tailRuns = judge(byCondition.get('tail') ?? [], settings).comparisons
  if (tailRuns.length > 0) {
    const p50 = tailRuns.map((c) => c.scenarios[0]?.metrics.find((m) => m.metric === 'p50Us')?.verdict ?? 'invalid')
    const tally = ['no-change', 'inconclusive', 'improvement', 'regression', 'invalid'].map((v) => `${p50.filter((x) => x === v).length} ${v}`).join(', ')
    lines.push(
      `Tail-only change, p50 verdicts: ${tally}. (In the closed model a request parked for 50 ms holds its connection, so fewer requests queue at the target and p50 can even improve.)`
    )
    lines.push('')
  }
  return lines
}

/** Noise: how wide are the intervals, the per-pair ratios and the detectable changes when nothing changed? */
function aaNoise(byCondition: ReadonlyMap<string, GateRun[]>, settings: CompareSettings): string[] {
  const lines: string[] = []
  const aaComparisons = judge(byCondition.get('aa') ?? [], settings).comparisons
  lines.push(
    'A/A noise (median half-width of the 95% interval over pairs): ' +
      METRIC_ORDER.filter((m) => m !== 'errorRate')
        .map((m) => `${m} ±${((medianHalfWidth(aaComparisons, m) ?? Number.NaN) * 100).toFixed(1)}%`)
        .join(', ') +
      '.'
  )
  lines.push('')
  const aaRunsSaved = byCondition.get('aa') ?? []
  lines.push(
    'A/A per-pair noise (standard deviation of the per-pair B/A ratio, median over gate runs [min, max]): ' +
      (['throughputRps', 'cpuUsPerRequest'] as const).map((m) => `${m} ${describeSpread(aaRunsSaved.map((g) => pairSd(g.result, m)))}`).join(', ') +
      '.'
  )
  lines.push('')
  lines.push(
    'A/A sensitivity (median smallest detectable regression the reports state, harness/stats/sensitivity.ts): ' +
      METRIC_ORDER.filter((m) => m !== 'errorRate')
        .map((m) => {
          const values = aaComparisons
            .map((c) => c.scenarios[0]?.metrics.find((x) => x.metric === m)?.sensitivity?.detectableChange)
            .filter((v): v is number => typeof v === 'number')
          return `${m} ${values.length === 0 ? '—' : `${(median(values) * 100).toFixed(1)}%`}`
        })
        .join(', ') +
      `; ${aaComparisons.filter((c) => c.headline.includes('TOO NOISY')).length}/${aaComparisons.length} A/A gate runs said TOO NOISY.`
  )
  lines.push('')
  return lines
}

/** The same gate runs re-judged with every relative margin scaled, with and without the rank test. */
function marginsTable(byCondition: ReadonlyMap<string, GateRun[]>): string[] {
  const lines: string[] = []
  lines.push('The same gate runs re-judged with every relative margin scaled (the error-rate margin kept):')
  lines.push('')
  lines.push(
    '"A/A false improvements" counts A/A runs where some gated metric was called an improvement: the mirror image of a false alarm, so it estimates the false-alarm rate with twice the evidence.'
  )
  lines.push('')
  lines.push(
    '| margins (throughput / CPU / p50 / p95 / p99) | A/A false alarms | A/A false improvements | +5% CPU detected | +10% CPU detected | +20% CPU detected | tail: p99 flagged | tail: p50 flagged |'
  )
  lines.push('|---|---|---|---|---|---|---|---|')
  const variants: Array<{ factor: number; requireSignificance: boolean }> = [0.5, 0.75, 1, 1.5, 2].map((factor) => ({
    factor,
    requireSignificance: GATE_DEFAULTS.requireSignificance
  }))
  // The rank-test guard costs power with few pairs (with 6, all six must agree): show its effect.
  for (const factor of [0.5, 1]) variants.push({ factor, requireSignificance: !GATE_DEFAULTS.requireSignificance })
  for (const { factor, requireSignificance } of variants) {
    const margins = { ...GATE_DEFAULTS.margins }
    for (const m of ['throughputRps', 'cpuUsPerRequest', 'p50Us', 'p95Us', 'p99Us'] as const) margins[m] = GATE_DEFAULTS.margins[m] * factor
    const s = resolveCompareSettings({ margins, requireSignificance }, 'settings', 'paired')
    const r = (name: string): Rates => judge(byCondition.get(name) ?? [], s).rates
    const aa = r('aa')
    const tail = r('tail')
    const label = ['throughputRps', 'cpuUsPerRequest', 'p50Us', 'p95Us', 'p99Us'].map((m) => `${(margins[m as MetricName] * 100).toFixed(1)}%`).join(' / ')
    const isDefault = factor === 1 && requireSignificance === GATE_DEFAULTS.requireSignificance
    lines.push(
      `| ${label}${isDefault ? ' (default)' : ''}${requireSignificance ? '' : ', no rank test'} | ${pct(aa.overall, aa.runs)} | ${pct(aa.anyImprovement, aa.runs)} | ${pct(r('cpu+5%').overall, r('cpu+5%').runs)} | ${pct(r('cpu+10%').overall, r('cpu+10%').runs)} | ${pct(r('cpu+20%').overall, r('cpu+20%').runs)} | ${pct(tail.byMetric.p99Us, tail.runs)} | ${pct(tail.byMetric.p50Us, tail.runs)} |`
    )
  }
  lines.push('')
  return lines
}

/** Prints the report and, with --readme, writes it into that file's block. */
function printReport(conditions: readonly Condition[], byCondition: ReadonlyMap<string, GateRun[]>, cpuUs: number, how: string): void {
  const settings = resolveCompareSettings({}, 'settings', 'paired')
  const lines = [
    ...describeSetup(byCondition, cpuUs, how, settings),
    ...defaultsTable(conditions, byCondition, settings),
    ...aaNoise(byCondition, settings),
    ...marginsTable(byCondition)
  ]
  const text = `${lines.join('\n')}\n`
  process.stdout.write(text)
  if (args.readme !== undefined) writeIntoReadme(args.readme, text)
}

// --readme-block <name> writes into a block of its own (e.g. one for a quiet machine and one beside
// the noisy neighbour): <!-- gate-accuracy:<name>:start … --> … <!-- gate-accuracy:<name>:end -->
const block = args['readme-block'] === undefined ? '' : `:${args['readme-block']}`
const README_START = `<!-- gate-accuracy${block}:start (written by scripts/gate-accuracy.ts --readme${block === '' ? '' : ` --readme-block ${args['readme-block']}`}) -->`
const README_END = `<!-- gate-accuracy${block}:end -->`

/** Replaces what lies between the file's markers (docs/gate-accuracy.md) with the figures just printed. */
function writeIntoReadme(file: string, text: string): void {
  const readme = readFileSync(file, 'utf8')
  const start = readme.indexOf(README_START)
  const end = readme.indexOf(README_END)
  if (start < 0 || end < start) throw new Error(`${file} has no "${README_START}" … "${README_END}" block to write into`)
  writeFileSync(file, `${readme.slice(0, start + README_START.length)}\n${text}${readme.slice(end)}`)
  log(`gate-accuracy: wrote the figures into ${file}`)
}

main().catch((error: unknown) => {
  log(`gate-accuracy: ${(error as Error).stack ?? String(error)}`)
  process.exitCode = 1
})
