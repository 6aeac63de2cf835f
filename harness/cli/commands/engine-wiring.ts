// How `run`, `ab` and `phases` wire an Engine to a configured target, in one place: one
// server-metrics reader for every process the command starts (it tells them apart by URL), the
// driver for each load model, the target's own config read for the fingerprint, the profiler
// when --profile is on, and warnings printed to stderr.
import { driverFor } from '../../engine/drivers/index.ts'
import { fetchTargetConfig, startTargetHandle } from '../../engine/engine.ts'
import type { Engine, EngineDeps, EngineEvents, EnginePlan, TargetHandle } from '../../engine/engine.ts'
import type { TargetDefinition } from '../../api.ts'
import type { ProfileTag, TargetProfiler } from '../../profile/profiler.ts'
import { createServerMetrics } from '../../engine/server-metrics.ts'
import type { TargetProcessOptions } from '../../engine/target-process.ts'
import type { CommandIo } from '../io.ts'

/** The engine settings every command uses with a configured target. */
export function commandPlanDefaults(target: Pick<TargetDefinition, 'readiness'> | null): Pick<EnginePlan, 'probePath' | 'setupConcurrency' | 'unresponsiveProbes'> {
  return { probePath: target?.readiness.path ?? '/', setupConcurrency: 16, unresponsiveProbes: 3 }
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

export function wireTarget(target: TargetDefinition | null, profiler: TargetProfiler | null): TargetWiring {
  const metrics = createServerMetrics(target)
  return {
    start: async (options, generatorCpus, tag) =>
      metrics.track(await (profiler === null || tag === undefined ? startTargetHandle(options, generatorCpus) : profiler.startTarget(options, generatorCpus, tag))),
    deps: (start, extra = {}) => ({
      target: start,
      createDriver: (model) => driverFor(model).create(),
      metrics,
      fetchTargetConfig: (u) => fetchTargetConfig(u, target),
      ...extra,
      ...(profiler === null ? {} : { window: profiler })
    })
  }
}

/** The engine's warnings, one line each on stderr. */
export function printWarnings(engine: Engine, io: Pick<CommandIo, 'stderr'>): void {
  engine.on('warning', ((w: EngineEvents['warning']) => io.stderr(`warning: ${w.message}\n`)) as (payload: unknown) => void)
}
