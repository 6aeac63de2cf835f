// The harness's coded errors, in one registry. A code is a stable contract: scripts and tests
// match on `code`, never on the message. `usage: true` marks an error the user can fix on the
// command line; the CLI maps those to exit code 2.

export const HARNESS_ERROR_CODES = {
  AUTHBENCH_ERR_BAD_OPTION: 'A command-line option or load setting is invalid.',
  AUTHBENCH_ERR_UNKNOWN_SCENARIO: 'A scenario named on the command line does not exist.',
  AUTHBENCH_ERR_INVALID_URL: 'A target URL could not be parsed.',
  AUTHBENCH_ERR_REMOTE_TARGET: 'The target URL is not on loopback and --allow-remote was not given.',
  AUTHBENCH_ERR_TARGET_START: 'The target process did not start or never became ready.',
  AUTHBENCH_ERR_TARGET_CRASHED: 'The target process exited while the harness still needed it.',
  AUTHBENCH_ERR_TARGET_UNRESPONSIVE: 'The target stopped answering its health probe.',
  AUTHBENCH_ERR_DRIVER: 'A load driver failed to run.',
  AUTHBENCH_ERR_METRICS: "The target's /metrics could not be scraped or parsed.",
  AUTHBENCH_ERR_HISTOGRAM: 'A serialised latency histogram could not be decoded.',
  AUTHBENCH_ERR_REF_BUILD: 'A git ref of an A/B arm could not be resolved, checked out, installed or built.'
} as const

export type HarnessErrorCode = keyof typeof HARNESS_ERROR_CODES

export class AuthbenchError extends Error {
  readonly code: HarnessErrorCode
  /** True when the user can fix it by changing the command line (exit code 2). */
  readonly usage: boolean

  constructor (code: HarnessErrorCode, message: string, options?: { cause?: unknown; usage?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AuthbenchError'
    this.code = code
    this.usage = options?.usage ?? false
  }
}

export class BadOptionError extends AuthbenchError {
  constructor (message: string) {
    super('AUTHBENCH_ERR_BAD_OPTION', message, { usage: true })
    this.name = 'BadOptionError'
  }
}

export class UnknownScenarioError extends AuthbenchError {
  constructor (readonly scenario: string, known: readonly string[]) {
    super('AUTHBENCH_ERR_UNKNOWN_SCENARIO', `unknown scenario "${scenario}" (known: ${known.join(', ')})`, { usage: true })
    this.name = 'UnknownScenarioError'
  }
}

export class InvalidUrlError extends AuthbenchError {
  constructor (readonly url: string, cause?: unknown) {
    super('AUTHBENCH_ERR_INVALID_URL', `invalid target URL "${url}"`, { usage: true, cause })
    this.name = 'InvalidUrlError'
  }
}

export class RemoteTargetError extends AuthbenchError {
  constructor (readonly url: string, readonly host: string) {
    super(
      'AUTHBENCH_ERR_REMOTE_TARGET',
      `refusing to load ${url}: host "${host}" is not loopback (127.0.0.0/8, ::1, localhost); pass --allow-remote to load a remote host`,
      { usage: true }
    )
    this.name = 'RemoteTargetError'
  }
}

export class TargetStartError extends AuthbenchError {
  constructor (message: string, readonly stderrTail: string, cause?: unknown) {
    super('AUTHBENCH_ERR_TARGET_START', withTail(message, stderrTail), { cause })
    this.name = 'TargetStartError'
  }
}

export class TargetCrashedError extends AuthbenchError {
  constructor (
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    readonly stderrTail: string
  ) {
    super(
      'AUTHBENCH_ERR_TARGET_CRASHED',
      withTail(`target process exited unexpectedly (code ${String(exitCode)}, signal ${String(exitSignal)})`, stderrTail)
    )
    this.name = 'TargetCrashedError'
  }
}

export class TargetUnresponsiveError extends AuthbenchError {
  constructor (readonly url: string, readonly failedProbes: number, cause?: unknown) {
    super('AUTHBENCH_ERR_TARGET_UNRESPONSIVE', `target ${url} failed ${failedProbes} consecutive health probes`, { cause })
    this.name = 'TargetUnresponsiveError'
  }
}

export class DriverError extends AuthbenchError {
  constructor (message: string, cause?: unknown) {
    super('AUTHBENCH_ERR_DRIVER', message, { cause })
    this.name = 'DriverError'
  }
}

export class MetricsError extends AuthbenchError {
  constructor (message: string, cause?: unknown) {
    super('AUTHBENCH_ERR_METRICS', message, { cause })
    this.name = 'MetricsError'
  }
}

export class HistogramDecodeError extends AuthbenchError {
  constructor (cause?: unknown) {
    super('AUTHBENCH_ERR_HISTOGRAM', 'could not decode a compressed base64 latency histogram', { cause })
    this.name = 'HistogramDecodeError'
  }
}

export function isAuthbenchError (error: unknown): error is AuthbenchError {
  return error instanceof AuthbenchError
}

function withTail (message: string, tail: string): string {
  const trimmed = tail.trim()
  return trimmed === '' ? message : `${message}\n--- target stderr (tail) ---\n${trimmed}`
}
