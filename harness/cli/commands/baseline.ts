// `authbench baseline`: runs the suite (several trials per scenario, a fresh target each), keeps
// the dated result like any run, then writes it as reports/baseline.json (kind 'baseline') and
// regenerates BASELINE_REPORT.md from that same result, so the two can never disagree.
// A run that stopped early or has a scenario without a valid trial does not replace the baseline.
import path from 'node:path'
import { renderBaselineReport } from '../../reporters/baseline-report.ts'
import { writeFileAtomic, writeResult } from '../../result-io.ts'
import { loadConfig } from '../../config.ts'
import { EXIT } from '../../errors.ts'
import { exitCodeFor } from '../../exit-code.ts'
import { runBenchmark } from './run.ts'
import type { CommandIo } from '../io.ts'
import type { RawRunOptions } from './run-options.ts'
import type { RunResult } from '../../types.ts'

export const BASELINE_DEFAULTS = Object.freeze({
  /** Five trials: enough for the unpaired comparison's minTrials with one to spare. */
  trials: 5,
  outDir: 'reports',
  file: 'baseline.json',
  report: 'BASELINE_REPORT.md',
  label: 'baseline'
})

export interface RawBaselineOptions extends Omit<RawRunOptions, 'json' | 'label'> {
  /** Where BASELINE_REPORT.md goes. */
  report?: string
}

/** The flags actually given, in a fixed order, so the report says how to rerun this exact baseline. */
export function reproduceCommand(raw: RawBaselineOptions): string {
  const parts = ['npx authbench baseline']
  const flag = (name: string, value: string | boolean | undefined): void => {
    if (value === undefined || value === false) return
    parts.push(value === true ? `--${name}` : `--${name} ${/^[\w.,:/=+-]+$/.test(value) ? value : JSON.stringify(value)}`)
  }
  for (const s of raw.scenario ?? []) flag('scenario', s)
  for (const name of ['trials', 'duration', 'warmup', 'connections', 'pipelining', 'rate', 'config', 'target', 'variant'] as const) flag(name, raw[name])
  for (const [name, value] of Object.entries(raw.targetOptions ?? {})) flag(name, value)
  for (const e of raw.targetEnv ?? []) flag('target-env', e)
  for (const p of raw.scenarioParam ?? []) flag('scenario-param', p)
  if (raw.restartPerTrial === false) parts.push('--no-restart-per-trial')
  if (raw.calibration === false) parts.push('--no-calibration')
  flag('out', raw.out)
  flag('report', raw.report)
  return parts.join(' ')
}

/** Returns the exit code; usage errors propagate (as from runCommand) for the CLI to map to 2. */
export async function baselineCommand(raw: RawBaselineOptions, io: CommandIo): Promise<number> {
  const outDir = raw.out ?? BASELINE_DEFAULTS.outDir
  const run = await runBenchmark(
    {
      ...raw,
      // A fresh process per trial: the baseline's spread should include start-to-start variation,
      // as every later comparison's trials will.
      restartPerTrial: raw.restartPerTrial ?? true,
      label: BASELINE_DEFAULTS.label,
      out: outDir,
      json: false
    },
    io,
    { trials: BASELINE_DEFAULTS.trials }
  )
  if (run.exitCode !== EXIT.OK) {
    io.stderr(`baseline not updated: the run did not complete (exit ${run.exitCode})\n`)
    return run.exitCode
  }
  const empty = run.result.summary.filter((s) => s.validTrials === 0).map((s) => s.scenario)
  if (empty.length > 0) {
    io.stderr(`baseline not updated: no valid trial for ${empty.join(', ')} (see ${run.resultPath})\n`)
    return exitCodeFor({ verdictExit: 2 })
  }
  // The run's own result, as it was written beside the run: never a re-read of the disk.
  const result: RunResult = { ...run.result, kind: 'baseline' }
  const file = path.join(outDir, BASELINE_DEFAULTS.file)
  for (const p of await writeResult(file, result)) io.stderr(`warning: baseline does not match the schema: ${p}\n`)
  const reportFile = raw.report ?? BASELINE_DEFAULTS.report
  const relative = path
    .relative(path.dirname(path.resolve(reportFile)), path.resolve(file))
    .split(path.sep)
    .join('/')
  const config = await loadConfig(raw.config === undefined ? {} : { configPath: raw.config })
  const scenarioDescriptions = Object.fromEntries(config.scenarios.map((s) => [s.name, s.description]))
  await writeFileAtomic(reportFile, renderBaselineReport(result, { command: reproduceCommand(raw), resultPath: relative, scenarioDescriptions }))
  io.stderr(`baseline written to ${file}; report ${reportFile}\n`)
  return exitCodeFor({})
}
