// What `run`, `ab` and `phases` share for --profile: the options, the profiler to hand the engine,
// and the step after the run that writes the .cpuprofile files, marks the result as profiled and
// renders the report sections.
import path from 'node:path'
import { BadOptionError } from '../errors.ts'
import { writeFileAtomic } from '../result-io.ts'
import type { RunResult } from '../types.ts'
import { analyseProfiles, joinTrials } from './analysis.ts'
import type { ProfileAnalysis } from './analysis.ts'
import { DEFAULT_SAMPLING_INTERVAL_US, TargetProfiler } from './profiler.ts'
import { renderProfileHtml, renderProfileMarkdown, writeProfiles } from './report.ts'

/** What commander hands over. */
export interface RawProfileOptions {
  profile?: boolean
  /** Sampling interval in µs. */
  profileInterval?: string
  /** ab only: a, b or both (default). One arm alone measures the profiler's own cost. */
  profileArm?: string
}

export interface ProfileSettings {
  samplingIntervalUs: number
  /** ab: which arms are profiled. */
  arms: Array<'A' | 'B'>
}

/** null when --profile was not given; a usage error for profile options without it. */
export function parseProfileOptions(raw: RawProfileOptions): ProfileSettings | null {
  if (raw.profile !== true) {
    if (raw.profileInterval !== undefined || raw.profileArm !== undefined) throw new BadOptionError('--profile-interval and --profile-arm need --profile')
    return null
  }
  let samplingIntervalUs = DEFAULT_SAMPLING_INTERVAL_US
  if (raw.profileInterval !== undefined) {
    const m = /^(\d+)\s*(us|µs)?$/.exec(raw.profileInterval.trim())
    const v = m === null ? Number.NaN : Number(m[1])
    // Below ~50 µs the sampler's own signal handling dominates the target's time.
    if (!Number.isInteger(v) || v < 50 || v > 100_000) throw new BadOptionError(`--profile-interval "${raw.profileInterval}" must be a whole number of µs from 50 to 100000`)
    samplingIntervalUs = v
  }
  const arm = (raw.profileArm ?? 'both').toLowerCase()
  if (arm !== 'a' && arm !== 'b' && arm !== 'both') throw new BadOptionError(`--profile-arm "${raw.profileArm}" must be a, b or both`)
  return { samplingIntervalUs, arms: arm === 'both' ? ['A', 'B'] : [arm === 'a' ? 'A' : 'B'] }
}

export function createProfiler(settings: ProfileSettings, warn: (message: string) => void): TargetProfiler {
  return new TargetProfiler({ samplingIntervalUs: settings.samplingIntervalUs, warn })
}

export interface ProfileOutput {
  analysis: ProfileAnalysis
  markdown: string
  html: string
}

/**
 * After the run: writes `<dir>/profiles/*.cpuprofile`, sets `result.profile` (so `compare` knows)
 * and renders the report sections. `groups` in comparison order: ['A', 'B'], the presets, or [''].
 */
export async function finishProfiling(result: RunResult, profiler: TargetProfiler, groups: readonly string[], resultDir: string): Promise<ProfileOutput> {
  const samples = joinTrials(result, profiler.trials)
  const profiledGroups = groups.filter((g) => samples.some((s) => s.group === g))
  result.profile = await writeProfiles(result, samples, profiledGroups.length > 0 ? profiledGroups : groups, resultDir, profiler.samplingIntervalUs)
  const analysis = analyseProfiles(result, samples, profiledGroups, profiler.samplingIntervalUs)
  // The tables as data, for scripts (scripts/profile-noise.ts reads the A/A runs' noise from them).
  if (analysis.diffs.length > 0) {
    const diffs = analysis.diffs.map((d) => ({ ...d, self: d.self.slice(0, 30), total: d.total.slice(0, 30) }))
    await writeFileAtomic(path.join(resultDir, result.profile.dir, 'diff.json'), `${JSON.stringify({ samplingIntervalUs: analysis.samplingIntervalUs, diffs }, null, 2)}\n`)
    result.profile.files.push('diff.json')
  }
  return { analysis, markdown: renderProfileMarkdown(analysis), html: renderProfileHtml(analysis) }
}

export { insertBeforeBodyEnd } from '../reporters/page.ts'
