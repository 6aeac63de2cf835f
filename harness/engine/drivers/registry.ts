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
  /** The load model it drives: one registration per model, the latest wins. */
  readonly model: LoadModel
  /** One line for `--help`. */
  readonly description: string
  /** A fresh driver for one trial (or one slot of a pair). */
  create(): Driver
}

const byModel = new Map<LoadModel, DriverRegistration>()

/**
 * Registers `registration` for its load model, in place of the one before; returns a function
 * that puts the earlier one back (for a test's stand-in, or a plug-in that is unloaded).
 */
export function registerDriver(registration: DriverRegistration): () => void {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(registration.name))
    throw new ConfigError('AUTHBENCH_ERR_CONFIG_INVALID', `registerDriver: name ${JSON.stringify(registration.name)} must be lower-case letters, digits or - (at most 32)`)
  const previous = byModel.get(registration.model)
  byModel.set(registration.model, Object.freeze({ ...registration }))
  return () => {
    if (byModel.get(registration.model)?.name !== registration.name) return
    if (previous === undefined) byModel.delete(registration.model)
    else byModel.set(registration.model, previous)
  }
}

/** The driver registered for a load model. */
export function driverFor(model: LoadModel): DriverRegistration {
  const registration = byModel.get(model)
  if (registration === undefined) throw new BadOptionError(`no load driver is registered for the ${model} model`)
  return registration
}

/** Every registered driver, one per model. */
export function registeredDrivers(): DriverRegistration[] {
  return [...byModel.values()]
}
