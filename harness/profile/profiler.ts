// Profiles the targets the harness starts, over exactly their measured time. The engine knows
// nothing of it: it calls a MeasurementWindowObserver (open before a trial's first measured
// request, slotStart/slotEnd around each measured slot, close after the trial's last scrape), and
// this class is one. Per target it starts V8's sampling profiler once per trial (Profiler.start
// enumerates every compiled function, milliseconds of work that must not land in a slot), records
// the slot windows on the monotonic clock V8 also uses, and keeps only the samples inside them:
// setup, seeding, warm-up and the other arm's slots are cut out.
//
// Targets are started with the inspector on a loopback port picked here (--inspect=127.0.0.1:<free
// port>); a preload gives node:cluster workers a port of their own picked by the OS (port 0: two
// targets side by side in an `ab` pair could otherwise race for primary+1), and every process's
// "Debugger listening on ws://…" line on stderr says where to connect. A cluster's processes are
// profiled together and merged, each under its own frame.
import { pathToFileURL, fileURLToPath } from 'node:url'
import type { MeasurementWindowObserver, TargetHandle, TrialRef } from '../engine/engine-types.ts'
import { startTargetHandle } from '../engine/target-handle.ts'
import { BadOptionError } from '../errors.ts'
import { REPO_ROOT, findFreePort } from '../engine/target-process.ts'
import type { TargetProcessOptions } from '../engine/target-process.ts'
import { mergeProfiles, monotonicUs, sliceProfile } from './cpuprofile.ts'
import type { CpuProfile, WindowUs } from './cpuprofile.ts'
import { INSPECTOR_ANNOUNCE, connectInspector, startProfiler, stopProfiler } from './inspector.ts'
import type { InspectorSession } from './inspector.ts'
import { createSourceMapCache, resolveSourcePositions } from './source-maps.ts'
import type { SourceMapCache } from './source-maps.ts'

/** V8's and `node --cpu-prof`'s default sampling interval. */
export const DEFAULT_SAMPLING_INTERVAL_US = 1_000

/** A sample weighs at most this many sampling intervals (sliceProfile says why): V8's own jitter is ~5-10%. */
const MAX_WEIGHT_INTERVALS = 1.25

const WORKER_PRELOAD = pathToFileURL(fileURLToPath(new URL('./inspect-workers.mjs', import.meta.url))).href

/** What a profiled trial belongs to: `ab` tags arm and pair, `phases` variant and round. */
export interface ProfileTag {
  /** Arm (A/B) or variant (preset); '' for a plain run. */
  group: string
  /** Pair or round; a plain run uses the trial number. */
  pair?: number
}

export interface ProfiledTrial {
  scenario: string
  trial: number
  group: string
  pair: number
  /** The measured windows' samples, every process of the target merged. */
  profile: CpuProfile
  /** Measured windows and their total length, µs. */
  windows: number
  windowUs: number
  processes: number
}

interface TargetState {
  tag: ProfileTag
  cwd: string
  urls: string[]
  sessions: InspectorSession[]
  sourceMaps: Map<string, SourceMapCache>
  windows: WindowUs[]
  slotOpenAt: number | null
  started: boolean
}

export interface ProfilerOptions {
  samplingIntervalUs?: number
  /** Where problems go (a failed connect, a process that would not stop its profiler). */
  warn?: (message: string) => void
}

/** True when a target's command is Node (the only kind with the V8 inspector this profiles). */
export function isNodeCommand(command: string | undefined): boolean {
  if (command === undefined) return true
  return command === 'node' || command === process.execPath || /(^|\/)node(\.exe)?$/.test(command)
}

/** The target's options with the inspector on 127.0.0.1:<port> and the cluster preload. */
export function withInspector(options: TargetProcessOptions, port: number): TargetProcessOptions {
  const flags = [`--inspect=127.0.0.1:${port}`, '--import', WORKER_PRELOAD]
  if (options.command === undefined) return { ...options, nodeArgs: [...(options.nodeArgs ?? ['--import', 'tsx']), ...flags] }
  if (!isNodeCommand(options.command))
    throw new BadOptionError(`--profile profiles Node targets: this target starts with "${options.command}", which has no V8 inspector to connect to`)
  // Node's own flags go before the script, which is the first argument that is not a flag.
  return { ...options, args: [...flags, ...(options.args ?? [])] }
}

export class TargetProfiler implements MeasurementWindowObserver {
  readonly samplingIntervalUs: number
  readonly trials: ProfiledTrial[] = []
  readonly #targets = new Map<TargetHandle, TargetState>()
  readonly #warn: (message: string) => void

  constructor(options: ProfilerOptions = {}) {
    this.samplingIntervalUs = options.samplingIntervalUs ?? DEFAULT_SAMPLING_INTERVAL_US
    this.#warn = options.warn ?? (() => undefined)
  }

  /** Starts a target with the inspector on and registers it; the engine's StartTarget for it. */
  async startTarget(options: TargetProcessOptions, generatorCpus: string | null, tag: ProfileTag): Promise<TargetHandle> {
    const port = await findFreePort('127.0.0.1')
    const urls: string[] = []
    let buffered = ''
    const onStderr = (chunk: string): void => {
      buffered = (buffered + chunk).slice(-4096)
      for (const m of buffered.matchAll(INSPECTOR_ANNOUNCE)) if (!urls.includes(m[1] as string)) urls.push(m[1] as string)
    }
    const handle = await startTargetHandle({ ...withInspector(options, port), onStderr }, generatorCpus)
    const stop = handle.stop.bind(handle)
    const state: TargetState = { tag, cwd: options.cwd ?? REPO_ROOT, urls, sessions: [], sourceMaps: new Map(), windows: [], slotOpenAt: null, started: false }
    const wrapped: TargetHandle = {
      url: handle.url,
      pid: handle.pid ?? null,
      cpuPinning: handle.cpuPinning,
      exited: handle.exited,
      // A process with a debugger attached waits for it to leave before it exits.
      stop: async () => {
        await this.#disconnect(state)
        this.#targets.delete(wrapped)
        await stop()
      }
    }
    this.#targets.set(wrapped, state)
    return wrapped
  }

  async open(target: TargetHandle, _trial: TrialRef): Promise<void> {
    const state = this.#targets.get(target)
    if (state === undefined) return
    state.windows = []
    state.slotOpenAt = null
    try {
      for (const url of state.urls) {
        if (!state.sessions.some((s) => s.url === url)) state.sessions.push(await connectInspector(url))
      }
      if (state.sessions.length === 0) throw new Error('the target announced no inspector on stderr')
      await Promise.all(state.sessions.map((s) => startProfiler(s, this.samplingIntervalUs)))
      state.started = true
    } catch (err) {
      state.started = false
      this.#warn(`profile: could not start the profiler on ${target.url}: ${(err as Error).message}`)
    }
  }

  slotStart(target: TargetHandle): void {
    const state = this.#targets.get(target)
    if (state !== undefined) state.slotOpenAt = monotonicUs()
  }

  slotEnd(target: TargetHandle): void {
    const state = this.#targets.get(target)
    if (state === undefined || state.slotOpenAt === null) return
    state.windows.push({ startUs: state.slotOpenAt, endUs: monotonicUs() })
    state.slotOpenAt = null
  }

  async close(target: TargetHandle, trial: TrialRef): Promise<void> {
    const state = this.#targets.get(target)
    if (state === undefined || !state.started) return
    state.started = false
    try {
      const profiles = await Promise.all(state.sessions.map((s) => stopProfiler(s)))
      // Outside the measured windows (the profiler has stopped): back to the files the user wrote.
      for (const [i, s] of state.sessions.entries()) {
        let cache = state.sourceMaps.get(s.url)
        if (cache === undefined) {
          cache = createSourceMapCache()
          state.sourceMaps.set(s.url, cache)
        }
        await resolveSourcePositions(s, profiles[i] as CpuProfile, cache).catch((err: unknown) => this.#warn(`profile: source maps unavailable: ${(err as Error).message}`))
      }
      const windows = state.windows
      const sliced = profiles.map((p) => sliceProfile(p, windows, state.cwd, this.samplingIntervalUs * MAX_WEIGHT_INTERVALS))
      const labels = sliced.length > 1 ? sliced.map((_, i) => (i === 0 ? 'primary' : `worker ${i}`)) : [undefined]
      const profile = mergeProfiles(sliced.map((p, i) => (labels[i] === undefined ? { profile: p } : { profile: p, label: labels[i] as string })))
      this.trials.push({
        scenario: trial.scenario,
        trial: trial.trial,
        group: state.tag.group,
        pair: state.tag.pair ?? trial.trial,
        profile,
        windows: windows.length,
        windowUs: windows.reduce((a, w) => a + (w.endUs - w.startUs), 0),
        processes: sliced.length
      })
    } catch (err) {
      this.#warn(`profile: could not stop the profiler on ${target.url}: ${(err as Error).message}`)
    }
  }

  async #disconnect(state: TargetState): Promise<void> {
    const sessions = state.sessions
    state.sessions = []
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)))
  }
}
