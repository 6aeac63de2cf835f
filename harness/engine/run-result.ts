// The one place a RunResult is put together: the engine's runs, `ab`, `phases` and the k6 path
// all hand their parts here, so the schema's envelope, the per-scenario summaries and the
// target-declared counters are filled in the same way whoever measured the trials.
import type { TargetDefinition } from '../api.ts'
import { counterInfo } from './server-metrics.ts'
import { summarizeWithSteps } from '../stats/steps.ts'
import type { EnvironmentFingerprint, LoadSettings, RunResult, TrialResult } from '../types.ts'
import { RESULT_SCHEMA_VERSION } from '../types.ts'

export interface RunResultParts {
  kind: RunResult['kind']
  label: string
  createdAt: string
  /** The machine and what the command knows of the target; targetConfig and cpuPinning are given apart. */
  fingerprint: Omit<EnvironmentFingerprint, 'targetConfig' | 'cpuPinning'>
  /** What the target reported of its own config (free-form for ab and phases), or null. */
  targetConfig: EnvironmentFingerprint['targetConfig']
  cpuPinning: EnvironmentFingerprint['cpuPinning']
  /** Every scenario of the run, in order, with the load it ran under. */
  scenarios: ReadonlyArray<{ scenario: { name: string }; load: LoadSettings }>
  trials: TrialResult[]
  /** Which trials the summary describes (ab: arm B, the candidate; phases: the last variant). Default: all. */
  summarizes?: (trial: TrialResult) => boolean
  calibration: RunResult['calibration']
  aborted: RunResult['aborted']
  /** The target whose declared counters the trials carry; null or undefined: none declared. */
  target?: Pick<TargetDefinition, 'metrics' | 'options' | 'variantAlias'> | null
}

export function buildRunResult(parts: RunResultParts): RunResult {
  const names = parts.scenarios.map((s) => s.scenario.name)
  const summarized = parts.summarizes === undefined ? parts.trials : parts.trials.filter(parts.summarizes)
  const target = parts.target ?? null
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: 'authbench',
    kind: parts.kind,
    label: parts.label,
    createdAt: parts.createdAt,
    environment: { ...withReported(parts.fingerprint, reportedByTarget(parts.targetConfig, target)), targetConfig: parts.targetConfig, cpuPinning: parts.cpuPinning },
    load: Object.fromEntries(parts.scenarios.map((s) => [s.scenario.name, s.load])),
    scenarios: names,
    trials: parts.trials,
    summary: names.map((name) => summarizeWithSteps(name, summarized)),
    calibration: parts.calibration,
    aborted: parts.aborted,
    ...(target?.metrics?.counters === undefined ? {} : { counters: counterInfo(target) })
  }
}

/** What the target reported wins over what the command line said, option by option. */
function withReported(fingerprint: RunResultParts['fingerprint'], reported: Partial<Pick<EnvironmentFingerprint, 'variant' | 'targetOptions'>>): RunResultParts['fingerprint'] {
  return { ...fingerprint, variant: reported.variant ?? fingerprint.variant, targetOptions: { ...fingerprint.targetOptions, ...reported.targetOptions } }
}

/**
 * The variant and declared options as the target itself reports them (its configPath), where the
 * reported config has a string under the option's name (or the target's word for its variants).
 */
function reportedByTarget(
  config: EnvironmentFingerprint['targetConfig'],
  target: Pick<TargetDefinition, 'options' | 'variantAlias'> | null
): Partial<Pick<EnvironmentFingerprint, 'variant' | 'targetOptions'>> {
  if (config === null || target === null) return {}
  const out: Partial<Pick<EnvironmentFingerprint, 'variant' | 'targetOptions'>> = {}
  const options = Object.keys(target.options ?? {}).filter((name) => typeof config[name] === 'string')
  if (options.length > 0) out.targetOptions = Object.fromEntries(options.map((name) => [name, config[name] as string]))
  const alias = target.variantAlias
  if (alias !== undefined && typeof config[alias] === 'string') out.variant = config[alias]
  return out
}
