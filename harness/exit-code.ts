// The one exit-code policy of every command. A command describes how it ended (a verdict, its
// objectives, a run that stopped, an error) and this decides what the process exits with, so that
// 1 can only ever mean "a gated regression or a failed objective" and a CI step can trust it.
import { EXIT, RefBuildError, describeError, exitCodeForCode, isAuthbenchError } from './errors.ts'

export type ExitCode = typeof EXIT.OK | typeof EXIT.REGRESSION | typeof EXIT.USAGE | typeof EXIT.INTERRUPTED

/** How a command ended. Every field is optional: a command gives what it knows. */
export interface CommandOutcome {
  /** The gate's verdict, as its exit code: 0 no regression, 1 a regression, 2 invalid data. */
  verdictExit?: 0 | 1 | 2 | null
  /** False when an objective failed (an --slo, capacity's --min-rate). */
  objectivesMet?: boolean
  /** The run stopped early, with the registry code of why (a result's `aborted`). */
  stopped?: { code: string } | null
  /** The error that ended the command, if one did. */
  error?: unknown
}

/** True for an error that means "the user interrupted" (Ctrl-C), however it was raised. */
function isInterruption(error: unknown): boolean {
  if (error instanceof RefBuildError && error.interrupted) return true
  if (isAuthbenchError(error)) return error.code === 'AUTHBENCH_ERR_ABORTED'
  return error instanceof Error && error.name === 'AbortError'
}

/**
 * The exit code for an outcome:
 * - an error: 130 when it was an interruption, else 2 (never 1: a broken run is not a regression);
 * - a run that stopped early: 130 when interrupted; else 1 only if a regression was already
 *   certain, otherwise 2 (incomplete data never passes the gate);
 * - invalid data (verdict exit 2): 2;
 * - a regression or a failed objective: 1;
 * - otherwise 0.
 */
export function exitCodeFor(outcome: CommandOutcome): ExitCode {
  if (outcome.error !== undefined) return isInterruption(outcome.error) ? EXIT.INTERRUPTED : describeError(outcome.error).exitCode
  const stopped = outcome.stopped ?? null
  if (stopped !== null) {
    if (exitCodeForCode(stopped.code) === EXIT.INTERRUPTED) return EXIT.INTERRUPTED
    return outcome.verdictExit === EXIT.REGRESSION ? EXIT.REGRESSION : EXIT.USAGE
  }
  if (outcome.verdictExit === EXIT.USAGE) return EXIT.USAGE
  if (outcome.verdictExit === EXIT.REGRESSION || outcome.objectivesMet === false) return EXIT.REGRESSION
  return EXIT.OK
}
