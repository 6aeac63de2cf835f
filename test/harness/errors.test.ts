import { describe, expect, it } from 'vitest'
import * as errors from '../../harness/errors.ts'
import { RefBuildError } from '../../harness/git-build.ts'

describe('harness errors', () => {
  it('every error class uses a documented AUTHBENCH_ERR_ code', () => {
    const samples: errors.AuthbenchError[] = [
      new errors.BadOptionError('x'), new errors.UnknownScenarioError('nope', ['health']), new errors.InvalidUrlError('x'),
      new errors.RemoteTargetError('http://10.0.0.1', '10.0.0.1'), new errors.TargetStartError('x', ''),
      new errors.TargetCrashedError(1, null, ''), new errors.TargetUnresponsiveError('http://127.0.0.1', 3),
      new errors.DriverError('x'), new errors.MetricsError('x'), new errors.HistogramDecodeError(),
      new RefBuildError('main', 'install', 'x')
    ]
    for (const error of samples) {
      expect(errors.HARNESS_ERROR_CODES[error.code]).toBeTypeOf('string')
      expect(error.code).toMatch(/^AUTHBENCH_ERR_[A-Z_]+$/)
      expect(errors.isAuthbenchError(error)).toBe(true)
    }
    expect(new Set(samples.map((e) => e.code)).size).toBe(Object.keys(errors.HARNESS_ERROR_CODES).length)
  })

  it('marks usage errors so the CLI exits 2', () => {
    expect(new errors.UnknownScenarioError('nope', ['health']).usage).toBe(true)
    expect(new errors.RemoteTargetError('http://x', 'x').usage).toBe(true)
    expect(new errors.TargetCrashedError(1, null, 'boom').usage).toBe(false)
    expect(new errors.TargetCrashedError(1, null, 'boom').message).toContain('boom')
  })
})
