// variants.md and variants.html: a target's variants side by side. analyseVariants turns a `variants`
// result (trials tagged with `variant` and `round`) into figures: per scenario × variant the
// median throughput, merged-histogram p95/p99, CPU µs/req, the change against the reference and
// against the variant before, each paired by round with compareAB's bootstrap interval, whether
// the variant helped, and the declared server-side counters that say why not. What is specific to
// a target (a published guide table, what each variant turns on, readings of its counters, how
// its config reads) comes in its definition's `report` (VariantsReportData); the renderers are
// pure functions of the analysis (and Chart.js's source, read once by the caller).
import { compareAB } from './headline.ts'
import { median } from '../stats/stats.ts'
import { summarizeScenario } from '../stats/summary.ts'
import { resolveCompareSettings } from '../stats/verdict.ts'
import type { CompareSettings, CounterInfo, MetricComparison, MetricName, RunResult, TrialResult } from '../types.ts'
import type { VariantsReportData } from '../api.ts'
import { escapeHtml, loadChartJs, renderPage } from './page.ts'
import type { HtmlAssets } from './page.ts'
import { formatChange, formatValue } from './format.ts'

const CHANGE_METRICS = ['throughputRps', 'p95Us', 'p99Us', 'cpuUsPerRequest'] as const
type ChangeMetric = (typeof CHANGE_METRICS)[number]

export interface ChangeFigure {
  /** Median over rounds of the per-round change (relative: this/other − 1). */
  change: number | null
  low: number | null
  high: number | null
}

/** Helps: the throughput interval lies above 0; worse: below 0; no-effect: it includes 0. */
export type Effect = 'helps' | 'no-effect' | 'worse' | 'unknown'

export interface VariantChange {
  against: string
  /** Complete rounds where both trials were valid. */
  pairs: number
  metrics: Record<ChangeMetric, ChangeFigure>
  effect: Effect
  /** Why the effect is unknown, or what else limits it. */
  note: string | null
}

/** Each declared counter over the measured window, medians over the cell's valid trials. */
export interface ServerEvidence {
  counters: Record<string, { per1kRequests: number | null; perS: number | null }>
}

export interface VariantCell {
  scenario: string
  variant: string
  trials: number
  validTrials: number
  throughputRps: number | null
  p95Us: number | null
  p99Us: number | null
  cpuUsPerRequest: number | null
  errorRate: number | null
  server: ServerEvidence
  vsBaseline: VariantChange | null
  vsPrevious: VariantChange | null
}

export interface GuideRow {
  scenario: string
  guideCurrentRps: number
  guideTargetRps: number
  /** guide target / guide health target: what the guide asks of this endpoint relative to health. */
  targetRatio: number
  baselineRps: number | null
  baselineRatio: number | null
  best: { variant: string; rps: number; ratio: number } | null
  /** The target ratio applied to the best phase's measured health throughput. */
  targetRpsHere: number | null
  /** targetRatio / measured ratio − 1 (positive: still short of the guide's target). */
  gapFromBaseline: number | null
  gapFromBest: number | null
}

export interface VariantInfo {
  name: string
  mechanism: string
  /** What the target reported for this variant (its configPath), null when unknown. */
  config: Record<string, unknown> | null
  /** The config as the target's report data reads it, one text per column of `configColumns`. */
  configText: string[]
}

export interface VariantsAnalysis {
  label: string
  createdAt: string
  reference: string
  variants: VariantInfo[]
  scenarios: string[]
  rounds: number
  cells: VariantCell[]
  guide: GuideRow[]
  /** Where the guide's figures come from and its reference scenario; null: the target has no guide. */
  guideInfo: { reference: string; source: string; referenceTargetRps: number } | null
  /** Columns of the variants' config table (the target's describeConfig). */
  configColumns: string[]
  /** One line per (phase, endpoint) that did not help, with its evidence. */
  notHelping: Array<{ variant: string; scenario: string; against: string; text: string }>
  context: {
    /** The target's declared options the variants ran with (`--store postgres` → store). */
    options: Readonly<Record<string, string>>
    loadAverage: { start: number[] | null; end: number[] | null }
    durationMs: number | null
    connections: number | null
    confidence: number
    aborted: RunResult['aborted']
    invalidTrials: number
  }
}

export interface AnalyseOptions {
  /** The variant others are compared to. Default 'baseline' (else the first variant). */
  reference?: string
  settings?: CompareSettings
  /** The target's report data (its definition's `report`). */
  report?: VariantsReportData
}

/**
 * Paired settings for phases: an interval needs two rounds at least, invalid trials only drop
 * their round (they are reported, not fatal), and no rank-test gate, since this is a description,
 * not a pass/fail verdict.
 */
export function variantsCompareSettings(): CompareSettings {
  return { ...resolveCompareSettings({ minTrials: 2, requireSignificance: false }), maxInvalidTrials: Number.MAX_SAFE_INTEGER }
}

function variantsOf(result: RunResult): string[] {
  const declared = (result.environment.targetConfig as { variants?: Record<string, unknown> } | null)?.variants
  const fromTrials = [...new Set(result.trials.map((t) => t.variant).filter((v): v is string => v !== undefined))]
  // Declared variants keep their order (and show as empty when a run stopped before them).
  const order = declared !== undefined && typeof declared === 'object' && declared !== null ? Object.keys(declared) : []
  return [...order, ...fromTrials.filter((v) => !order.includes(v))]
}

function configOf(result: RunResult, variant: string): Record<string, unknown> | null {
  const entry = (result.environment.targetConfig as { variants?: Record<string, { config?: unknown }> } | null)?.variants?.[variant]
  return entry !== undefined && typeof entry.config === 'object' && entry.config !== null ? (entry.config as Record<string, unknown>) : null
}

/** Two variants as the arms of an A/B result, paired by round, so compareAB does the statistics. */
function asAbResult(result: RunResult, a: string, b: string): RunResult {
  const arm = (t: TrialResult, which: 'A' | 'B'): TrialResult => {
    const { variant: _variant, round, ...rest } = t
    return round === undefined ? { ...rest, arm: which } : { ...rest, arm: which, pair: round }
  }
  const trials = [...result.trials.filter((t) => t.variant === a).map((t) => arm(t, 'A')), ...result.trials.filter((t) => t.variant === b).map((t) => arm(t, 'B'))]
  return { ...result, kind: 'ab', trials, comparison: undefined } as RunResult
}

function figure(metric: MetricComparison | undefined): ChangeFigure {
  return { change: metric?.change ?? null, low: metric?.interval?.low ?? null, high: metric?.interval?.high ?? null }
}

function changeBetween(result: RunResult, other: string, variant: string, settings: CompareSettings): Map<string, VariantChange> {
  const out = new Map<string, VariantChange>()
  const ab = asAbResult(result, other, variant)
  if (!ab.trials.some((t) => t.arm === 'A') || !ab.trials.some((t) => t.arm === 'B')) return out
  const comparison = compareAB(ab, { settings })
  for (const s of comparison.scenarios) {
    const byName = new Map<MetricName, MetricComparison>(s.metrics.map((m) => [m.metric, m]))
    const metrics = Object.fromEntries(CHANGE_METRICS.map((m) => [m, figure(byName.get(m))])) as Record<ChangeMetric, ChangeFigure>
    const t = metrics.throughputRps
    let effect: Effect = 'unknown'
    let note: string | null = null
    const rounds = s.pairs ?? s.baselineTrials
    if (t.low !== null && t.high !== null) effect = t.low > 0 ? 'helps' : t.high < 0 ? 'worse' : 'no-effect'
    else note = rounds < settings.minTrials ? `${rounds} complete valid round(s): an interval needs ${settings.minTrials}` : (s.notes[0] ?? 'no interval')
    out.set(s.scenario, { against: other, pairs: rounds, metrics, effect, note })
  }
  return out
}

function medianOf(values: ReadonlyArray<number | null>): number | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v))
  return finite.length === 0 ? null : median(finite)
}

function evidenceOf(valid: readonly TrialResult[], keys: readonly string[]): ServerEvidence {
  const withServer = valid.filter((t) => t.server !== null && t.requests > 0)
  const perK = (pick: (t: TrialResult) => number): number | null => medianOf(withServer.map((t) => (pick(t) / t.requests) * 1000))
  const perS = (pick: (t: TrialResult) => number): number | null => medianOf(withServer.map((t) => (t.durationMs > 0 ? pick(t) / (t.durationMs / 1000) : null)))
  const counters: ServerEvidence['counters'] = {}
  for (const key of keys) {
    const pick = (t: TrialResult): number => t.server?.counters[key] ?? 0
    counters[key] = { per1kRequests: perK(pick), perS: perS(pick) }
  }
  return { counters }
}

/** The counters a result declares (else whatever its trials carry), with their report labels. */
function countersOf(result: RunResult): Record<string, CounterInfo> {
  if (result.counters !== undefined) return result.counters
  const keys = new Set(result.trials.flatMap((t) => Object.keys(t.server?.counters ?? {})))
  return Object.fromEntries([...keys].map((k) => [k, { metric: k, label: k }]))
}

function cellOf(result: RunResult, scenario: string, variant: string, counterKeys: readonly string[]): Omit<VariantCell, 'vsBaseline' | 'vsPrevious'> {
  const mine = result.trials.filter((t) => t.scenario === scenario && t.variant === variant)
  const valid = mine.filter((t) => t.validity.state === 'valid')
  const summary = summarizeScenario(scenario, mine)
  const measured = valid.length > 0
  return {
    scenario,
    variant,
    trials: mine.length,
    validTrials: valid.length,
    throughputRps: measured ? summary.throughputRps : null,
    p95Us: measured ? summary.latencyUs.p95 : null,
    p99Us: measured ? summary.latencyUs.p99 : null,
    cpuUsPerRequest: summary.cpuUsPerRequest,
    errorRate: measured ? summary.errorRate : null,
    server: evidenceOf(valid, counterKeys)
  }
}

function guideRows(cells: readonly VariantCell[], reference: string, guideData: VariantsReportData['guide']): GuideRow[] {
  if (guideData === undefined) return []
  const GUIDE_REFERENCE = guideData.reference
  const ref = guideData.rows[GUIDE_REFERENCE]
  if (ref === undefined) return []
  const cell = (scenario: string, variant: string): VariantCell | undefined => cells.find((c) => c.scenario === scenario && c.variant === variant)
  const ratioIn = (scenario: string, variant: string): number | null => {
    const mine = cell(scenario, variant)?.throughputRps ?? null
    const health = cell(GUIDE_REFERENCE, variant)?.throughputRps ?? null
    return mine !== null && health !== null && health > 0 ? mine / health : null
  }
  const scenarios = [...new Set(cells.map((c) => c.scenario))].filter((s) => guideData.rows[s] !== undefined)
  return scenarios.map((scenario) => {
    const guide = guideData.rows[scenario] as { currentRps: number; targetRps: number }
    const targetRatio = guide.targetRps / ref.targetRps
    // The best variant is the one whose scenario comes closest to the guide's ratio to the
    // reference; for the reference itself, the one with the most throughput.
    let best: GuideRow['best'] = null
    for (const c of cells.filter((x) => x.scenario === scenario && x.throughputRps !== null)) {
      const ratio = ratioIn(scenario, c.variant)
      if (ratio === null) continue
      const score = scenario === GUIDE_REFERENCE ? (c.throughputRps as number) : ratio
      const bestScore = best === null ? -Infinity : scenario === GUIDE_REFERENCE ? best.rps : best.ratio
      if (score > bestScore) best = { variant: c.variant, rps: c.throughputRps as number, ratio }
    }
    const baselineRatio = ratioIn(scenario, reference)
    const bestHealth = best === null ? null : (cell(GUIDE_REFERENCE, best.variant)?.throughputRps ?? null)
    const gap = (ratio: number | null): number | null => (ratio === null || ratio <= 0 || scenario === GUIDE_REFERENCE ? null : targetRatio / ratio - 1)
    return {
      scenario,
      guideCurrentRps: guide.currentRps,
      guideTargetRps: guide.targetRps,
      targetRatio,
      baselineRps: cell(scenario, reference)?.throughputRps ?? null,
      baselineRatio,
      best,
      targetRpsHere: bestHealth === null ? null : targetRatio * bestHealth,
      gapFromBaseline: gap(baselineRatio),
      gapFromBest: gap(best?.ratio ?? null)
    }
  })
}

const pct = (share: number | null): string => (share === null ? '—' : `${(share * 100).toFixed(share < 0.001 && share > 0 ? 3 : 1)}%`)
const num = (value: number | null, digits = 1): string => (value === null ? '—' : value.toFixed(digits))

function effectPhrase(effect: Effect): string {
  return effect === 'worse' ? 'is slower' : effect === 'unknown' ? 'cannot be judged' : 'does not measurably help'
}

function changePhrase(change: VariantChange): string {
  const t = change.metrics.throughputRps
  const interval = t.low === null || t.high === null ? ` (${change.note ?? 'no interval'})` : ` [${formatChange('relative', t.low)}, ${formatChange('relative', t.high)}]`
  return `against ${change.against} ${effectPhrase(change.effect)}: throughput ${formatChange('relative', t.change)}${interval} over ${change.pairs} round(s)`
}

interface ExplainContext {
  config: Record<string, unknown> | null
  otherConfig: Record<string, unknown> | null
  /** The target was pinned to these CPUs (null: not pinned). */
  targetCpus: string | null
  cpuCount: number
  counters: Record<string, CounterInfo>
  report: VariantsReportData | undefined
}

/**
 * The counters behind a change, then the readings that apply. A reading is offered only for a
 * mechanism the two phases actually differ in (their reported configs), so phase2 is never
 * "explained" by the pool it shares with phase1.
 */
function explain(cell: VariantCell, other: VariantCell, change: VariantChange, ctx: ExplainContext): { facts: string; why: string[] } {
  const a = other.server.counters
  const b = cell.server.counters
  const cpu = change.metrics.cpuUsPerRequest
  // A counter reads per request when it moves with the load, per second when it is background work.
  const facts = [
    ...Object.entries(ctx.counters).map(([key, info]) => {
      const x = a[key]
      const y = b[key]
      return `${info.label}/1k req ${num(x?.per1kRequests ?? null)} → ${num(y?.per1kRequests ?? null)} (${num(x?.perS ?? null)} → ${num(y?.perS ?? null)}/s)`
    }),
    `CPU µs/req ${num(other.cpuUsPerRequest)} → ${num(cell.cpuUsPerRequest)}`
  ].join('; ')
  const why: string[] =
    ctx.report?.explainStep?.({
      scenario: cell.scenario,
      from: other.variant,
      to: cell.variant,
      fromConfig: ctx.otherConfig,
      toConfig: ctx.config,
      fromCounters: a,
      toCounters: b,
      effect: change.effect,
      targetCpus: ctx.targetCpus,
      cpuCount: ctx.cpuCount
    }) ?? []
  if (cpu.change !== null && cpu.low !== null && cpu.low > 0) {
    why.push(
      `CPU: each request costs ${(cpu.change * 100).toFixed(1)}% more CPU; ${ctx.targetCpus === null ? 'a CPU-bound target' : `with the target pinned to CPU ${ctx.targetCpus}, it`} serves fewer requests per second`
    )
  }
  return { facts, why }
}

const cellIn = (cells: readonly VariantCell[], scenario: string, variant: string): VariantCell => cells.find((c) => c.scenario === scenario && c.variant === variant) as VariantCell

/**
 * Without an interval (too few rounds) the point change still tells the reader something: the
 * ratio of the two cells' figures, shown without brackets.
 */
function fillPointChanges(cells: readonly VariantCell[]): void {
  for (const cell of cells) {
    for (const change of [cell.vsBaseline, cell.vsPrevious]) {
      if (change === null) continue
      const other = cellIn(cells, cell.scenario, change.against)
      for (const metric of CHANGE_METRICS) {
        const f = change.metrics[metric]
        const a = other[metric]
        const b = cell[metric]
        if (f.change === null && a !== null && b !== null && a > 0) change.metrics[metric] = { change: b / a - 1, low: null, high: null }
      }
    }
  }
}

/**
 * One line per variant and scenario that did not help: its own step (against the variant before)
 * first, then against the reference; the evidence is for the first comparison that did not help.
 */
function notHelpingLines(
  result: RunResult,
  cells: readonly VariantCell[],
  variants: readonly string[],
  scenarios: readonly string[],
  counters: ReturnType<typeof countersOf>,
  options: AnalyseOptions
): VariantsAnalysis['notHelping'] {
  const lines: VariantsAnalysis['notHelping'] = []
  const targetCpus = result.environment.cpuPinning.target
  for (const variant of variants) {
    for (const scenario of scenarios) {
      const cell = cellIn(cells, scenario, variant)
      const failing = [cell.vsPrevious, cell.vsBaseline].filter((c): c is VariantChange => c !== null && c.effect !== 'helps')
      const first = failing[0]
      if (first === undefined) continue
      const { facts, why } = explain(cell, cellIn(cells, scenario, first.against), first, {
        config: configOf(result, variant),
        otherConfig: configOf(result, first.against),
        targetCpus,
        cpuCount: result.environment.cpuCount,
        counters,
        report: options.report
      })
      const text = `${variant} on ${scenario}: ${failing.map(changePhrase).join('; ')}. Evidence (${first.against} → ${variant}): ${facts}.${why.length > 0 ? ` Reading: ${why.join('; ')}.` : ''}`
      lines.push({ variant, scenario, against: first.against, text })
    }
  }
  return lines
}

export function analyseVariants(result: RunResult, options: AnalyseOptions = {}): VariantsAnalysis {
  const settings = options.settings ?? variantsCompareSettings()
  const variants = variantsOf(result)
  const reference = options.reference ?? (variants.includes('baseline') ? 'baseline' : (variants[0] ?? 'baseline'))
  const scenarios = result.scenarios.length > 0 ? [...result.scenarios] : [...new Set(result.trials.map((t) => t.scenario))]
  const vsRef = new Map<string, Map<string, VariantChange>>()
  const vsPrev = new Map<string, Map<string, VariantChange>>()
  variants.forEach((variant, index) => {
    if (variant === reference) return
    vsRef.set(variant, changeBetween(result, reference, variant, settings))
    const previous = variants[index - 1]
    // Against the variant before: what its own changes add (the first one's is the same as vs the reference).
    if (previous !== undefined && previous !== reference) vsPrev.set(variant, changeBetween(result, previous, variant, settings))
  })
  const cells: VariantCell[] = scenarios.flatMap((scenario) =>
    variants.map((variant) => ({
      ...cellOf(result, scenario, variant, Object.keys(countersOf(result))),
      vsBaseline: vsRef.get(variant)?.get(scenario) ?? null,
      vsPrevious: vsPrev.get(variant)?.get(scenario) ?? null
    }))
  )
  fillPointChanges(cells)
  const notHelping = notHelpingLines(result, cells, variants, scenarios, countersOf(result), options)
  const rounds = Math.max(0, ...result.trials.map((t) => (t.round ?? -1) + 1))
  // Without the target's own reading of its config, the table shows its scalar settings as they are.
  const describe =
    options.report?.describeConfig ??
    ((config: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(config)
          .filter(([, v]) => v === null || typeof v !== 'object')
          .map(([k, v]) => [k, String(v)])
      ))
  const reported = variants.map((v) => configOf(result, v)).filter((c): c is Record<string, unknown> => c !== null)
  const configColumns = [...new Set(reported.flatMap((c) => Object.keys(describe(c))))]
  const g = options.report?.guide
  const guideInfo =
    g !== undefined && g.rows[g.reference] !== undefined
      ? { reference: g.reference, source: g.source, referenceTargetRps: (g.rows[g.reference] as { targetRps: number }).targetRps }
      : null
  const tc = result.environment.targetConfig as { loadAverage?: { start?: number[]; end?: number[] } } | null
  const firstLoad = Object.values(result.load)[0]
  return {
    label: result.label,
    createdAt: result.createdAt,
    reference,
    variants: variants.map((name) => {
      const config = configOf(result, name)
      return { name, mechanism: options.report?.variantNotes?.[name] ?? '—', config, configText: configColumns.map((c) => (config === null ? '—' : (describe(config)[c] ?? '—'))) }
    }),
    scenarios,
    rounds,
    cells,
    guide: guideRows(cells, reference, options.report?.guide),
    guideInfo,
    configColumns,
    notHelping,
    context: {
      options: result.environment.targetOptions,
      loadAverage: { start: tc?.loadAverage?.start ?? null, end: tc?.loadAverage?.end ?? null },
      durationMs: firstLoad?.durationMs ?? null,
      connections: firstLoad?.connections ?? null,
      confidence: settings.confidence,
      aborted: result.aborted,
      invalidTrials: result.trials.filter((t) => t.validity.state !== 'valid').length
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

function cellText(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

const EFFECT_LABEL: Readonly<Record<Effect, string>> = Object.freeze({ helps: 'helps', 'no-effect': 'no measurable effect', worse: 'worse', unknown: 'not judged' })

function changeText(f: ChangeFigure): string {
  if (f.change === null) return '—'
  return f.low === null || f.high === null
    ? formatChange('relative', f.change)
    : `${formatChange('relative', f.change)} [${formatChange('relative', f.low)}, ${formatChange('relative', f.high)}]`
}

/** The declared target options as text ("store postgres, cache redis"), or '' when none were given. */
function optionsText(options: Readonly<Record<string, string>>, after: string, before = ''): string {
  const entries = Object.entries(options)
  return entries.length === 0 ? '' : `${before}${entries.map(([name, value]) => `${name} ${value}`).join(', ')}${after}`
}

/** The phase's own step: against the variant before it (phase1's step is against the reference). */
function stepChange(a: VariantsAnalysis, c: VariantCell): VariantChange | null {
  return c.vsPrevious ?? (c.variant === a.reference ? null : c.vsBaseline)
}

function ratioText(ratio: number | null): string {
  return ratio === null ? '—' : ratio.toFixed(2)
}

function rpsText(rps: number | null): string {
  return formatValue('throughputRps', rps)
}

function loadText(values: number[] | null): string {
  return values === null ? '—' : values.map((x) => x.toFixed(2)).join(' ')
}

/** The target's guide table (published goals as ratios to a reference scenario), measured here. */
function guideLines(a: VariantsAnalysis, lines: string[]): void {
  if (a.guideInfo === null) return
  const ref = a.guideInfo.reference
  lines.push("### The guide's table, measured here", '')
  lines.push(
    `From ${cellText(a.guideInfo.source)}. Its targets are ratios to ${cellText(ref)} (its targets ÷ its ${cellText(ref)} target of ${a.guideInfo.referenceTargetRps.toLocaleString('en-US')} r/s); "Target here" applies that ratio to the ${cellText(ref)} throughput measured under the best variant. ` +
      `Gap = target ratio ÷ measured ratio − 1 (positive: still short of the target). Best variant: the one whose ratio to ${cellText(ref)} comes closest to the target (for ${cellText(ref)}, the fastest).`,
    ''
  )
  lines.push(`| Scenario | Guide: current → target | Target ratio | Current here (${a.reference}) | Best variant here | Target here | Gap (${a.reference}) | Gap (best) |`)
  lines.push('|---|---|---:|---|---|---:|---:|---:|')
  for (const g of a.guide) {
    const isRef = g.scenario === ref
    lines.push(
      `| ${cellText(g.scenario)} | ${(g.guideCurrentRps / 1000).toFixed(1)}k → ${(g.guideTargetRps / 1000).toFixed(0)}k r/s | ${isRef ? '1.00 (reference)' : g.targetRatio.toFixed(2)} | ` +
        `${rpsText(g.baselineRps)} (${ratioText(g.baselineRatio)}) | ${g.best === null ? '—' : `${g.best.variant}: ${rpsText(g.best.rps)} (${ratioText(g.best.ratio)})`} | ` +
        `${isRef ? '—' : rpsText(g.targetRpsHere)} | ${isRef ? '—' : formatChange('relative', g.gapFromBaseline)} | ${isRef ? '—' : formatChange('relative', g.gapFromBest)} |`
    )
  }
  lines.push('')
}

export function renderVariantsMarkdown(analysis: VariantsAnalysis): string {
  const a = analysis
  const ci = `${Math.round(a.context.confidence * 100)}%`
  const lines: string[] = []
  lines.push(`## authbench variants — \`${cellText(a.label)}\``, '')
  lines.push(
    `${a.scenarios.length} scenario(s) × ${a.variants.length} variant(s), ${a.rounds} round(s), interleaved in randomised blocks with a fresh target per trial; ` +
      `${optionsText(a.context.options, '; ')}${a.context.durationMs === null ? '' : `${a.context.durationMs / 1000} s measured per trial, `}` +
      `${a.context.connections === null ? '' : `${a.context.connections} connections (closed model); `}load average at start ${loadText(a.context.loadAverage.start)}, at end ${loadText(a.context.loadAverage.end)} (${a.createdAt}).`,
    ''
  )
  if (a.context.aborted !== null)
    lines.push(`> ⚠️ The run stopped early (${cellText(a.context.aborted.code)}): ${cellText(a.context.aborted.reason)}. Figures cover the trials done before it.`, '')
  if (a.context.invalidTrials > 0) lines.push(`> ⚠️ ${a.context.invalidTrials} invalid trial(s) left out (their rounds are unpaired).`, '')

  lines.push('### Scenario × variant', '')
  lines.push(
    `| scenario | variant | req/s | p95 | p99 | CPU µs/req | errors | req/s vs ${a.reference} [${ci}] | p99 vs ${a.reference} | CPU vs ${a.reference} | effect vs ${a.reference} | effect vs previous variant |`
  )
  lines.push('|---|---|---:|---:|---:|---:|---:|---|---|---|---|---|')
  for (const c of a.cells) {
    const vs = c.vsBaseline
    const prev = stepChange(a, c)
    const effect = (change: VariantChange | null): string => (change === null ? '—' : `${EFFECT_LABEL[change.effect]}${change.note === null ? '' : ` (${change.note})`}`)
    const valid = c.validTrials === c.trials ? '' : ` (${c.validTrials}/${c.trials} valid)`
    lines.push(
      `| ${cellText(c.scenario)} | ${cellText(c.variant)}${valid} | ${rpsText(c.throughputRps)} | ${formatValue('p95Us', c.p95Us)} | ${formatValue('p99Us', c.p99Us)} | ${num(c.cpuUsPerRequest)} | ${pct(c.errorRate)} | ` +
        `${vs === null ? '—' : changeText(vs.metrics.throughputRps)} | ${vs === null ? '—' : changeText(vs.metrics.p99Us)} | ${vs === null ? '—' : changeText(vs.metrics.cpuUsPerRequest)} | ${cellText(effect(vs))} | ${cellText(effect(prev))} |`
    )
  }
  lines.push('')

  guideLines(a, lines)

  lines.push('### Where a variant does not help', '')
  if (a.notHelping.length === 0) lines.push(`Every variant raised throughput on every scenario, against ${a.reference} and against the variant before (intervals above 0).`, '')
  else {
    lines.push(
      `A variant "does not help" when the ${ci} interval of its throughput change includes 0 or lies below it; each line gives the server-side counters (medians over the trials' measured windows) as evidence.`,
      ''
    )
    for (const v of a.variants) {
      const mine = a.notHelping.filter((n) => n.variant === v.name)
      if (mine.length === 0) continue
      lines.push(`#### ${cellText(v.name)} — ${cellText(v.mechanism)}`, '')
      for (const n of mine) lines.push(`- ${cellText(n.text)}`)
      lines.push('')
    }
  }

  lines.push('### What each variant ran with (as the target reported it)', '')
  const cols = (cells: readonly string[]): string => cells.map((c) => ` ${c} |`).join('')
  lines.push(`| variant | what it turns on |${cols(a.configColumns.map(cellText))}`)
  lines.push(`|---|---|${a.configColumns.map(() => '---|').join('')}`)
  for (const v of a.variants) lines.push(`| ${cellText(v.name)} | ${cellText(v.mechanism)} |${cols(v.configText.map(cellText))}`)
  lines.push('')
  lines.push(
    `<sub>Per scenario and variant: median of per-trial throughput; p95/p99 of the merged histogram of valid trials; median CPU µs/req of the target's process tree. ` +
      `Changes are paired by round (trials of one round ran next to each other): median over rounds of the per-round ratio, BCa bootstrap interval over rounds (compareAB). ` +
      `Effect: helps when the throughput interval lies above 0, worse when below, otherwise no measurable effect; not judged with fewer than two complete rounds.</sub>`,
    ''
  )
  return lines.join('\n')
}

// The page's own script: plain ES2017, builds the charts from the JSON data block.
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('phases-data').textContent);
  var colors = ['#6b7280', '#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed'];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  window.authbenchCharts = [];
  function bars(id, title, axis, pick, floating) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    window.authbenchCharts.push(new Chart(canvas, {
      type: 'bar',
      data: {
        labels: data.scenarios,
        datasets: data.variants.map(function (variant, index) {
          return { label: variant, backgroundColor: colors[index % colors.length], data: data.scenarios.map(function (scenario) { return pick(data.cells[scenario + '/' + variant] || null); }) };
        }).filter(function (set) { return !floating || set.label !== data.reference; })
      },
      options: { plugins: { title: { display: true, text: title } }, scales: { y: { title: { display: true, text: axis }, beginAtZero: !floating } } }
    }));
  }
  bars('throughput', 'Throughput by scenario and variant (median of trials)', 'req/s', function (c) { return c ? c.throughputRps : null; }, false);
  bars('p99', 'p99 latency by scenario and variant (merged histograms)', 'µs', function (c) { return c ? c.p99Us : null; }, false);
  bars('change', 'Throughput change vs ' + data.reference + ', ' + data.confidencePercent + '% interval (floating bars, %)', 'change (%)', function (c) {
    return c && c.low !== null && c.high !== null ? [c.low * 100, c.high * 100] : null;
  }, true);
})();
`

export function renderVariantsHtml(analysis: VariantsAnalysis, assets: HtmlAssets = { chartJs: loadChartJs() }): string {
  const a = analysis
  const data = {
    reference: a.reference,
    confidencePercent: Math.round(a.context.confidence * 100),
    scenarios: a.scenarios,
    variants: a.variants.map((v) => v.name),
    cells: Object.fromEntries(
      a.cells.map((c) => [
        `${c.scenario}/${c.variant}`,
        { throughputRps: c.throughputRps, p99Us: c.p99Us, low: c.vsBaseline?.metrics.throughputRps.low ?? null, high: c.vsBaseline?.metrics.throughputRps.high ?? null }
      ])
    )
  }
  const effectClass = (change: VariantChange | null): string => (change === null ? '' : change.effect)
  const rows = a.cells
    .map((c) => {
      const vs = c.vsBaseline
      const prev = stepChange(a, c)
      const effect = (change: VariantChange | null): string => (change === null ? '—' : `${EFFECT_LABEL[change.effect]}${change.note === null ? '' : ` (${change.note})`}`)
      return `<tr class="${effectClass(prev)}"><td>${escapeHtml(c.scenario)}</td><td>${escapeHtml(c.variant)}${c.validTrials === c.trials ? '' : ` (${c.validTrials}/${c.trials} valid)`}</td><td>${escapeHtml(rpsText(c.throughputRps))}</td><td>${escapeHtml(formatValue('p95Us', c.p95Us))}</td><td>${escapeHtml(formatValue('p99Us', c.p99Us))}</td><td>${num(c.cpuUsPerRequest)}</td><td>${pct(c.errorRate)}</td><td>${escapeHtml(vs === null ? '—' : changeText(vs.metrics.throughputRps))}</td><td>${escapeHtml(vs === null ? '—' : changeText(vs.metrics.p99Us))}</td><td>${escapeHtml(vs === null ? '—' : changeText(vs.metrics.cpuUsPerRequest))}</td><td>${escapeHtml(effect(vs))}</td><td>${escapeHtml(effect(prev))}</td></tr>`
    })
    .join('\n')
  const guide = a.guide
    .map((g) => {
      const isRef = g.scenario === a.guideInfo?.reference
      return `<tr><td>${escapeHtml(g.scenario)}</td><td>${(g.guideCurrentRps / 1000).toFixed(1)}k → ${(g.guideTargetRps / 1000).toFixed(0)}k r/s</td><td>${isRef ? '1.00 (reference)' : g.targetRatio.toFixed(2)}</td><td>${escapeHtml(rpsText(g.baselineRps))} (${ratioText(g.baselineRatio)})</td><td>${g.best === null ? '—' : `${escapeHtml(g.best.variant)}: ${escapeHtml(rpsText(g.best.rps))} (${ratioText(g.best.ratio)})`}</td><td>${isRef ? '—' : escapeHtml(rpsText(g.targetRpsHere))}</td><td>${isRef ? '—' : escapeHtml(formatChange('relative', g.gapFromBaseline))}</td><td>${isRef ? '—' : escapeHtml(formatChange('relative', g.gapFromBest))}</td></tr>`
    })
    .join('\n')
  const notHelping =
    a.notHelping.length === 0 ? '<p>Every variant raised throughput on every scenario.</p>' : `<ul>${a.notHelping.map((n) => `<li>${escapeHtml(n.text)}</li>`).join('\n')}</ul>`
  const variants = a.variants
    .map((v) => `<tr><td>${escapeHtml(v.name)}</td><td>${escapeHtml(v.mechanism)}</td>${v.configText.map((x) => `<td>${escapeHtml(x)}</td>`).join('')}</tr>`)
    .join('\n')
  const warnings = [
    a.context.aborted === null ? '' : `<p class="note">The run stopped early (${escapeHtml(a.context.aborted.code)}): ${escapeHtml(a.context.aborted.reason)}.</p>`,
    a.context.invalidTrials === 0 ? '' : `<p class="note">${a.context.invalidTrials} invalid trial(s) left out.</p>`
  ].join('')
  return renderPage({
    title: `authbench variants — ${a.label}`,
    css: `td:first-child, th:first-child, td:nth-child(2) { text-align: left; }
tr.worse { background: #fee2e2; } tr.helps { background: #dcfce7; } tr.no-effect { background: #fef9c3; }
.chart { position: relative; width: 100%; max-width: 1140px; height: 340px; margin: 1rem 0; }
.note { color: #92400e; } li { margin: 0.3rem 0; }`,
    body: `<h1>authbench variants — ${escapeHtml(a.label)}</h1>
<p>${a.scenarios.length} scenario(s) × ${a.variants.length} variant(s), ${a.rounds} round(s), interleaved, a fresh target per trial${escapeHtml(optionsText(a.context.options, '', ' · '))} · load average at start ${escapeHtml(loadText(a.context.loadAverage.start))}, at end ${escapeHtml(loadText(a.context.loadAverage.end))} · ${escapeHtml(a.createdAt)}</p>
${warnings}
<div class="chart"><canvas id="throughput"></canvas></div>
<div class="chart"><canvas id="p99"></canvas></div>
<div class="chart"><canvas id="change"></canvas></div>
<h2>Scenario × variant</h2>
<table><thead><tr><th>scenario</th><th>variant</th><th>req/s</th><th>p95</th><th>p99</th><th>CPU µs/req</th><th>errors</th><th>req/s vs ${escapeHtml(a.reference)} [${data.confidencePercent}%]</th><th>p99 vs ${escapeHtml(a.reference)}</th><th>CPU vs ${escapeHtml(a.reference)}</th><th>effect vs ${escapeHtml(a.reference)}</th><th>effect vs previous variant</th></tr></thead><tbody>
${rows}
</tbody></table>
${
  a.guideInfo === null
    ? ''
    : `<h2>The guide's table, measured here</h2>
<p>From ${escapeHtml(a.guideInfo.source)}. Targets are the guide's ratios to ${escapeHtml(a.guideInfo.reference)}; "target here" applies them to the ${escapeHtml(a.guideInfo.reference)} throughput measured under the best variant. Gap = target ratio ÷ measured ratio − 1.</p>
<table><thead><tr><th>scenario</th><th>guide: current → target</th><th>target ratio</th><th>current here (${escapeHtml(a.reference)})</th><th>best variant here</th><th>target here</th><th>gap (${escapeHtml(a.reference)})</th><th>gap (best)</th></tr></thead><tbody>
${guide}
</tbody></table>
`
}<h2>Where a variant does not help</h2>
${notHelping}
<h2>What each variant ran with</h2>
<table><thead><tr><th>variant</th><th>what it turns on</th>${a.configColumns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>
${variants}
</tbody></table>`,
    dataId: 'phases-data',
    data,
    chartJs: assets.chartJs,
    script: PAGE_SCRIPT
  })
}
