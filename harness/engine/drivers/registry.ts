// Load drivers, one per load model. The engine asks the registry for the model a scenario runs
// under and never names a driver itself, so a new driver is a file of its own plus one
// registerDriver() call (harness/engine/drivers/index.ts for the built-in ones, or a user's config
// through the public API), and no command changes.
import { BadOptionError, ConfigError } from '../../errors.ts'
import type { LoadModel } from '../../types.ts'
import type { Driver } from './types.ts'

export interface DriverRegistration {
  /** The name results record as `environment.driver`, and `run --driver` takes. */
  readonly name: string
  /** The load model it drives: one registration per model and workload, the latest wins. */
  readonly model: LoadModel
  /**
   * What it runs: independent requests (`nextRequest`, the default) or journeys (VU iterations,
   * `DriverOptions.journey`; also any scenario run with stages).
   */
  readonly workload?: Workload
  /** One line for `--help`. */
  readonly description: string
  /** A fresh driver for one trial (or one slot of a pair). */
  create(): Driver
}

export type Workload = 'requests' | 'journeys'

const byModel = new Map<string, DriverRegistration>()
const keyOf = (model: LoadModel, workload: Workload | undefined): string => `${model}/${workload ?? 'requests'}`

/**
 * Registers `registration` for its load model, in place of the one before; returns a function
 * that puts the earlier one back (for a test's stand-in, or a plug-in that is unloaded).
 */
export function registerDriver(registration: DriverRegistration): () => void {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(registration.name))
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `registerDriver: name ${JSON.stringify(registration.name)} must be lower-case letters, digits or - (at most 32)`)
  const key = keyOf(registration.model, registration.workload)
  const previous = byModel.get(key)
  byModel.set(key, Object.freeze({ ...registration }))
  return () => {
    if (byModel.get(key)?.name !== registration.name) return
    if (previous === undefined) byModel.delete(key)
    else byModel.set(key, previous)
  }
}

/** The driver registered for a load model and workload. */
export function driverFor(model: LoadModel, workload: Workload = 'requests'): DriverRegistration {
  const registration = byModel.get(keyOf(model, workload))
  if (registration === undefined) throw new BadOptionError(`no load driver is registered for ${workload} in the ${model} model`)
  return registration
}

/** Every registered driver, one per model and workload. */
export function registeredDrivers(): DriverRegistration[] {
  return [...byModel.values()]
}

/** What a scenario runs as: a journey, or any scenario with stages, needs the journeys driver. */
export function workloadOf(scenario: { journey?: boolean }, load: { stages?: readonly unknown[] }): Workload {
  return scenario.journey === true || (load.stages?.length ?? 0) > 0 ? 'journeys' : 'requests'
}

/** The driver name a run's fingerprint records: one, or each distinct one joined by '+'. */
export function driverNameOf(plans: ReadonlyArray<{ scenario: { journey?: boolean }; load: { model: LoadModel; stages?: readonly unknown[] } }>, model: LoadModel): string {
  const names = new Set(plans.map((p) => driverFor(p.load.model, workloadOf(p.scenario, p.load)).name))
  return names.size === 0 ? driverFor(model).name : [...names].join('+')
}
