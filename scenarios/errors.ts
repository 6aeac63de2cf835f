// Coded errors raised by scenarios. Usage errors reuse the harness registry (harness/errors.ts) so
// the CLI maps them to exit 2; seeding failures carry their own stable code.
import { BadOptionError } from '../harness/errors.ts'

export { UnknownScenarioError } from '../harness/errors.ts'

/** A bad `--scenario-param`: a usage error (exit 2) naming the scenario and the parameter. */
export class ScenarioParamError extends BadOptionError {
  constructor(readonly scenario: string, readonly param: string, problem: string) {
    super(`scenario "${scenario}" parameter "${param}": ${problem}`)
    this.name = 'ScenarioParamError'
  }
}

/**
 * Seeding through the public API failed (the target refused or is unreachable).
 * TODO(lead): move AUTHBENCH_ERR_SETUP_FAILED into the harness/errors.ts registry.
 */
export class SetupFailedError extends Error {
  readonly code = 'AUTHBENCH_ERR_SETUP_FAILED'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SetupFailedError'
  }
}
