// How an Engine is wired to a configured target, in one place for every command: one
// server-metrics reader for every process the command starts (it tells them apart by URL), the
// registered driver for each load model, the target's own config read for the fingerprint, and a
// profiler when one is given.
import type { TargetDefinition } from '../api.ts'
import { driverFor } from './drivers/index.ts'
import type { EngineDeps, EnginePlan } from './engine.ts'
import type { MeasurementWindowObserver, TargetHandle } from './engine-types.ts'
import { createServerMetrics } from './server-metrics.ts'
import { fetchTargetConfig, startTargetHandle } from './target-handle.ts'
import type { TargetProcessOptions } from './target-process.ts'

/** Which measured windows a profiled target belongs to: an arm or variant, and a pair or round. */
export interface ProfileTag {
  group: string
  /** Pair or round; a plain run uses the trial number. */
  pair?: number
}

/** A profiler, as the wiring needs it: it starts targets under the inspector and sees their windows. */
export interface ProfilingStarter extends MeasurementWindowObserver {
  startTarget(options: TargetProcessOptions, generatorCpus: string | null, tag: ProfileTag): Promise<TargetHandle>
}

/** The engine settings every command uses with a configured target. */
export function commandPlanDefaults(
  target: Pick<TargetDefinition, 'readiness' | 'calibration'> | null
): Pick<EnginePlan, 'probePath' | 'calibrationPath' | 'setupConcurrency' | 'unresponsiveProbes'> {
  const probePath = target?.readiness.path ?? '/'
  return { probePath, calibrationPath: target?.calibration?.path ?? probePath, setupConcurrency: 16, unresponsiveProbes: 3 }
}

export interface TargetWiring {
  /**
   * Starts the target's process with `options`, known to the metrics reader; under the profiler
   * when there is one and a tag is given.
   */
  start(options: TargetProcessOptions, generatorCpus: string | null, tag?: ProfileTag): Promise<TargetHandle>
  /** The engine's deps for this target, started by `target` (or already running at a URL). */
  deps(target: EngineDeps['target'], extra?: Pick<EngineDeps, 'measuredRps'>): EngineDeps
}

export function wireTarget(target: TargetDefinition | null, profiler: ProfilingStarter | null): TargetWiring {
  const metrics = createServerMetrics(target)
  return {
    start: async (options, generatorCpus, tag) =>
      metrics.track(await (profiler === null || tag === undefined ? startTargetHandle(options, generatorCpus) : profiler.startTarget(options, generatorCpus, tag))),
    deps: (start, extra = {}) => ({
      target: start,
      createDriver: (model, workload) => driverFor(model, workload).create(),
      metrics,
      fetchTargetConfig: (u) => fetchTargetConfig(u, target),
      ...extra,
      ...(profiler === null ? {} : { window: profiler })
    })
  }
}
