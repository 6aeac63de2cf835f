// Coded errors of `compare` and `ab`: files that cannot be read, parsed or compared. Every one is
// a usage/data error, so the CLI exits 2 with the message, which names the file and the problem.
// Kept apart from harness/errors.ts (owned by the drivers work) until the lead merges the codes
// into that registry.

export const COMPARE_ERROR_CODES = {
  AUTHBENCH_ERR_FILE_MISSING: 'A result, baseline or config file does not exist.',
  AUTHBENCH_ERR_FILE_UNREADABLE: 'A result, baseline or config file exists but could not be read.',
  AUTHBENCH_ERR_JSON_INVALID: 'A file is not valid JSON.',
  AUTHBENCH_ERR_SCHEMA_VERSION: "A result file's schemaVersion is not the one this authbench reads.",
  AUTHBENCH_ERR_RESULT_SHAPE: 'A result file does not have the shape of an authbench result.',
  AUTHBENCH_ERR_CONFIG_INVALID: 'The comparison settings in the config file are invalid.',
  AUTHBENCH_ERR_AB_UNPAIRED: 'An A/B result has no complete A/B pair to compare.',
  AUTHBENCH_ERR_AB_SPEC: 'An A/B arm is not a preset, a JSON file of target env overrides, or a git ref whose target can be checked out.'
} as const

export type CompareErrorCode = keyof typeof COMPARE_ERROR_CODES

export class CompareError extends Error {
  readonly code: CompareErrorCode
  /** Always true: the user fixes these by pointing at other files or fixing them (exit 2). */
  readonly usage = true

  constructor (code: CompareErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CompareError'
    this.code = code
  }
}

export function isCompareError (error: unknown): error is CompareError {
  return error instanceof CompareError
}
