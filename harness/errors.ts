// The harness's coded errors, in one registry (as fastify's lib/errors.js): every error the harness,
// a scenario or a config can raise is an AuthbenchError with a code from ERROR_CODES, and the code
// decides the exit code. A code is a stable contract: scripts and tests match on `code`, never on
// the message. The CLI maps any error to a message and an exit code with `describeError`, and
// nowhere else; test/harness/errors.test.ts fails on an error class defined outside this file.

/**
 * The exit codes every command shares, so a CI step can tell them apart: 1 only ever means the
 * gate found a regression or a threshold/SLO failed; anything that left the data incomplete or
 * unusable (a target that crashed, a run that could not finish, an unexpected error) is 2, since
 * reading it as 1 would blame the pull request for a broken run. 130 is SIGINT, as in shells.
 */
export const EXIT = Object.freeze({ OK: 0, REGRESSION: 1, USAGE: 2, INCOMPLETE: 2, INTERRUPTED: 130 })

/** What an error exits with: 2 (usage, bad data, or an incomplete run) or 130 (interrupted). No error is a regression. */
export type ErrorExitCode = typeof EXIT.USAGE | typeof EXIT.INTERRUPTED

interface CodeInfo {
  readonly exitCode: ErrorExitCode
  readonly description: string
}

const code = (exitCode: ErrorExitCode, description: string): CodeInfo => Object.freeze({ exitCode, description })

export const ERROR_CODES = Object.freeze({
  AUTHBENCH_ERR_BAD_OPTION: code(2, 'A command-line option, scenario parameter or load setting is invalid.'),
  AUTHBENCH_ERR_UNKNOWN_SCENARIO: code(2, 'A scenario named on the command line is not in the config.'),
  AUTHBENCH_ERR_CONFIG_INVALID: code(2, 'The config file (authbench.config.*) or a key in it is invalid.'),
  AUTHBENCH_ERR_CONFIG_LOAD: code(2, 'The config file or a scenario file could not be found or loaded.'),
  AUTHBENCH_ERR_UNKNOWN_VARIANT: code(2, 'A variant named on the command line is not declared by the target.'),
  AUTHBENCH_ERR_NO_TARGET: code(2, 'The command needs a target to start and the config declares none (or --url is missing).'),
  AUTHBENCH_ERR_INVALID_URL: code(2, 'A target URL could not be parsed.'),
  AUTHBENCH_ERR_REMOTE_TARGET: code(2, 'The target URL is not on loopback and --allow-remote was not given.'),
  AUTHBENCH_ERR_TARGET_START: code(2, 'The target process did not start, exited during start-up, or never became ready.'),
  AUTHBENCH_ERR_SETUP_FAILED: code(2, "A scenario's setup failed (seeding through the target's API, or the scenario threw)."),
  AUTHBENCH_ERR_TARGET_CRASHED: code(2, 'The target process exited while the harness still needed it.'),
  AUTHBENCH_ERR_TARGET_UNRESPONSIVE: code(2, 'The target stopped answering its health probe.'),
  AUTHBENCH_ERR_DRIVER: code(2, 'A load driver failed to run.'),
  AUTHBENCH_ERR_METRICS: code(2, "The target's Prometheus endpoint could not be scraped or parsed."),
  AUTHBENCH_ERR_RUN_FAILED: code(2, 'The run failed for a reason no other code names.'),
  AUTHBENCH_ERR_ABORTED: code(130, 'The run was interrupted (SIGINT or an abort signal).'),
  AUTHBENCH_ERR_HISTOGRAM: code(2, 'A serialised latency histogram could not be decoded.'),
  AUTHBENCH_ERR_RESULT_FILE: code(2, 'A result file is missing, unreadable, corrupt, of another schemaVersion or of the wrong shape.'),
  AUTHBENCH_ERR_FILE_MISSING: code(2, 'A result, baseline or config file does not exist.'),
  AUTHBENCH_ERR_FILE_UNREADABLE: code(2, 'A result, baseline or config file exists but could not be read.'),
  AUTHBENCH_ERR_JSON_INVALID: code(2, 'A file is not valid JSON.'),
  AUTHBENCH_ERR_SCHEMA_VERSION: code(2, "A result file's schemaVersion is not one this authbench reads."),
  AUTHBENCH_ERR_RESULT_SHAPE: code(2, 'A result file does not have the shape of an authbench result.'),
  AUTHBENCH_ERR_AB_UNPAIRED: code(2, 'An A/B result has no complete A/B pair to compare.'),
  AUTHBENCH_ERR_REF_BUILD: code(2, 'A git ref of an A/B arm could not be resolved, checked out, installed or built.'),
  AUTHBENCH_ERR_AB_SPEC: code(2, 'An A/B arm is not a variant, a config or env file, or a git ref whose target can be checked out.'),
  AUTHBENCH_ERR_K6_MISSING: code(2, 'No usable k6 (v0.57 or later) on PATH.'),
  AUTHBENCH_ERR_K6_SUMMARY: code(2, 'A k6 summary file cannot be imported.')
} satisfies Record<`AUTHBENCH_ERR_${string}`, CodeInfo>)

export type ErrorCode = keyof typeof ERROR_CODES

/** Description by code, for documentation and for tests that check every code is documented. */
export const HARNESS_ERROR_CODES: Readonly<Record<ErrorCode, string>> = Object.freeze(
  Object.fromEntries(Object.entries(ERROR_CODES).map(([k, v]) => [k, v.description])) as Record<ErrorCode, string>
)

/** Every error authbench raises. `code` is stable; `exitCode` comes from the registry. */
/**
 * Thrown inside a journey's iteration to end it as failed (an unexpected status, a network error,
 * a body that is not JSON, vu.fail). Not an AuthbenchError and without a code: it never leaves the
 * iteration, the journey driver counts it under its step, and a user's iteration may catch it.
 */
export class StepFailure extends Error {
  readonly step: string
  readonly kind: 'status' | 'timeout' | 'reset' | 'other' | 'body' | 'fail'
  /** What went wrong, without the step's name (`unexpected status 500`). */
  readonly reason: string
  constructor(step: string, kind: StepFailure['kind'], reason: string) {
    super(`step ${step}: ${reason}`)
    this.name = 'StepFailure'
    this.step = step
    this.kind = kind
    this.reason = reason
  }
}

export class AuthbenchError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AuthbenchError'
    this.code = code
  }

  /** What the CLI exits with for this error. */
  get exitCode(): ErrorExitCode {
    return ERROR_CODES[this.code].exitCode
  }

  /** True when it exits 2 (the user can fix it, or the run could not finish), not 130. */
  get usage(): boolean {
    return this.exitCode === EXIT.USAGE
  }
}

/**
 * A run that stopped before it gave what the command needed: interrupted (exit 130), or its
 * target crashed or went silent (exit 2). `code` is the stop's own, from the run's `aborted`.
 */
export class RunStoppedError extends AuthbenchError {
  constructor(code: ErrorCode, message: string) {
    super(code, message)
    this.name = 'RunStoppedError'
  }

  /** For a code read from a result's `aborted`, which may be any string. */
  static fromAborted(aborted: { code: string; reason: string }, what: string): RunStoppedError {
    const code = Object.hasOwn(ERROR_CODES, aborted.code) ? (aborted.code as ErrorCode) : 'AUTHBENCH_ERR_RUN_FAILED'
    return new RunStoppedError(code, `${what}: ${aborted.reason}`)
  }
}

export class BadOptionError extends AuthbenchError {
  constructor(message: string) {
    super('AUTHBENCH_ERR_BAD_OPTION', message)
    this.name = 'BadOptionError'
  }
}

export class UnknownScenarioError extends AuthbenchError {
  constructor(
    readonly scenario: string,
    known: readonly string[]
  ) {
    super('AUTHBENCH_ERR_UNKNOWN_SCENARIO', `unknown scenario "${scenario}" (known: ${known.join(', ')})`)
    this.name = 'UnknownScenarioError'
  }
}

/** A bad scenario parameter: names the scenario and the parameter (exit 2). */
export class ScenarioParamError extends AuthbenchError {
  constructor(
    readonly scenario: string,
    readonly param: string,
    problem: string
  ) {
    super('AUTHBENCH_ERR_BAD_OPTION', `scenario "${scenario}" parameter "${param}": ${problem}`)
    this.name = 'ScenarioParamError'
  }
}

/** A scenario's setup failed: seeding through the target's API was refused, or the scenario threw. */
export class SetupFailedError extends AuthbenchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('AUTHBENCH_ERR_SETUP_FAILED', message, options)
    this.name = 'SetupFailedError'
  }
}

/** The config file, or a key in it, is invalid; the message names the file and the key. */
export class ConfigError extends AuthbenchError {
  constructor(
    code: 'AUTHBENCH_ERR_CONFIG_INVALID' | 'AUTHBENCH_ERR_CONFIG_LOAD' | 'AUTHBENCH_ERR_UNKNOWN_VARIANT' | 'AUTHBENCH_ERR_NO_TARGET',
    message: string,
    options?: { cause?: unknown }
  ) {
    super(code, message, options)
    this.name = 'ConfigError'
  }
}

export class InvalidUrlError extends AuthbenchError {
  constructor(
    readonly url: string,
    cause?: unknown
  ) {
    super('AUTHBENCH_ERR_INVALID_URL', `invalid target URL "${url}"`, { cause })
    this.name = 'InvalidUrlError'
  }
}

export class RemoteTargetError extends AuthbenchError {
  constructor(
    readonly url: string,
    readonly host: string
  ) {
    super('AUTHBENCH_ERR_REMOTE_TARGET', `refusing to load ${url}: host "${host}" is not loopback (127.0.0.0/8, ::1, localhost); pass --allow-remote to load a remote host`)
    this.name = 'RemoteTargetError'
  }
}

export class TargetStartError extends AuthbenchError {
  constructor(
    message: string,
    readonly stderrTail: string,
    cause?: unknown
  ) {
    super('AUTHBENCH_ERR_TARGET_START', withTail(message, stderrTail), { cause })
    this.name = 'TargetStartError'
  }
}

export class TargetCrashedError extends AuthbenchError {
  constructor(
    readonly processExitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    readonly stderrTail: string
  ) {
    super('AUTHBENCH_ERR_TARGET_CRASHED', withTail(`target process exited unexpectedly (code ${String(processExitCode)}, signal ${String(exitSignal)})`, stderrTail))
    this.name = 'TargetCrashedError'
  }
}

export class TargetUnresponsiveError extends AuthbenchError {
  constructor(
    readonly url: string,
    readonly failedProbes: number,
    cause?: unknown
  ) {
    super('AUTHBENCH_ERR_TARGET_UNRESPONSIVE', `target ${url} failed ${failedProbes} consecutive health probes`, { cause })
    this.name = 'TargetUnresponsiveError'
  }
}

export class DriverError extends AuthbenchError {
  constructor(message: string, cause?: unknown) {
    super('AUTHBENCH_ERR_DRIVER', message, { cause })
    this.name = 'DriverError'
  }
}

export class MetricsError extends AuthbenchError {
  constructor(message: string, cause?: unknown) {
    super('AUTHBENCH_ERR_METRICS', message, { cause })
    this.name = 'MetricsError'
  }
}

export class HistogramDecodeError extends AuthbenchError {
  constructor(cause?: unknown) {
    super('AUTHBENCH_ERR_HISTOGRAM', 'could not decode a compressed base64 latency histogram', { cause })
    this.name = 'HistogramDecodeError'
  }
}

export type ResultFileProblem = 'MISSING' | 'UNREADABLE' | 'CORRUPT' | 'INCOMPATIBLE' | 'INVALID'

/** A result file that cannot be used. `problem` says which way it failed. */
export class ResultFileError extends AuthbenchError {
  constructor(
    readonly file: string,
    readonly problem: ResultFileProblem,
    message: string,
    options?: { cause?: unknown }
  ) {
    super('AUTHBENCH_ERR_RESULT_FILE', `${file}: ${message}`, options)
    this.name = 'ResultFileError'
  }
}

export type CompareErrorCode =
  | 'AUTHBENCH_ERR_FILE_MISSING'
  | 'AUTHBENCH_ERR_FILE_UNREADABLE'
  | 'AUTHBENCH_ERR_JSON_INVALID'
  | 'AUTHBENCH_ERR_SCHEMA_VERSION'
  | 'AUTHBENCH_ERR_RESULT_SHAPE'
  | 'AUTHBENCH_ERR_CONFIG_INVALID'
  | 'AUTHBENCH_ERR_AB_UNPAIRED'
  | 'AUTHBENCH_ERR_AB_SPEC'

/** Files `compare` and `ab` cannot read, parse or compare, and A/B arms that cannot be run. */
export class CompareError extends AuthbenchError {
  constructor(code: CompareErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'CompareError'
  }
}

/** A git ref of an A/B arm could not be resolved, checked out, installed or built. */
export class RefBuildError extends AuthbenchError {
  constructor(
    readonly ref: string,
    readonly step: 'resolve' | 'checkout' | 'install' | 'build',
    message: string,
    readonly outputTail = '',
    cause?: unknown,
    /** Stopped by the abort signal (Ctrl-C), not a failure of the ref. */
    readonly interrupted = false
  ) {
    // The user fixes it in their repository or on the command line: exit 2 (registry), never 1.
    super('AUTHBENCH_ERR_REF_BUILD', outputTail === '' ? message : `${message}\n--- last output of ${step} ---\n${outputTail.trimEnd()}`, { cause })
    this.name = 'RefBuildError'
  }
}

/** No usable k6 on PATH. */
export class K6MissingError extends AuthbenchError {
  constructor(message: string) {
    super('AUTHBENCH_ERR_K6_MISSING', message)
    this.name = 'K6MissingError'
  }
}

/** A k6 summary that cannot be imported. */
export class K6SummaryError extends AuthbenchError {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown }
  ) {
    super('AUTHBENCH_ERR_K6_SUMMARY', `${file}: ${message}`, options)
    this.name = 'K6SummaryError'
  }
}

/** True for any registered error, also one from a second copy of this module (a config loaded apart). */
export function isAuthbenchError(error: unknown): error is AuthbenchError {
  if (error instanceof AuthbenchError) return true
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) && 'exitCode' in error
}

/** The exit code for a code found in a result's `aborted` (a string from a file, so it may be any). */
export function exitCodeForCode(errorCode: string): ErrorExitCode {
  return (ERROR_CODES as Record<string, CodeInfo>)[errorCode]?.exitCode ?? EXIT.INCOMPLETE
}

/** Whether unexpected errors print their stack (`--debug`); off, they print one line. */
let showStacks = false

/** Turns stacks of unexpected errors on or off (the CLI's `--debug`). */
export function setShowStacks(on: boolean): void {
  showStacks = on
}

/**
 * The one mapping from any thrown value to what the user sees and the exit code. A registered
 * error prints its message and code. Anything else was anticipated by nothing: it prints one line
 * (its name and message, with a hint to rerun with --debug for the stack) and exits `unknownExit`
 * (2 by default: 1 would read as "regression").
 */
export function describeError(error: unknown, unknownExit: ErrorExitCode = EXIT.INCOMPLETE): { message: string; exitCode: ErrorExitCode } {
  if (isAuthbenchError(error)) {
    const detail = error instanceof ResultFileError ? `${error.code}:${error.problem}` : error.code
    return { message: `${error.message} [${detail}]`, exitCode: error.exitCode }
  }
  const e = error instanceof Error ? error : new Error(String(error))
  if (showStacks) return { message: e.stack ?? e.message, exitCode: unknownExit }
  const firstLine = e.message.split('\n')[0] ?? ''
  return { message: `unexpected error: ${e.name}: ${firstLine} (rerun with --debug for the stack)`, exitCode: unknownExit }
}

function withTail(message: string, tail: string): string {
  const trimmed = tail.trim()
  return trimmed === '' ? message : `${message}\n--- target stderr (tail) ---\n${trimmed}`
}
