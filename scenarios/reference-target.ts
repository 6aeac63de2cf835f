// The reference target as process options, for the scripts and tests that start it directly
// (benchmarks of the target itself) rather than through a command and the config.
import { authTarget } from '../authbench.config.ts'
import { targetProcessOptions } from '../harness/engine/target-process.ts'
import type { TargetProcessOptions } from '../harness/engine/target-process.ts'

/** Start options of the auth target, with extra environment (PRESET, DATABASE_URL, …). */
export function referenceTarget(env: Readonly<Record<string, string | undefined>> = {}): TargetProcessOptions {
  const options = targetProcessOptions(authTarget)
  return { ...options, env: { ...options.env, ...env } }
}
