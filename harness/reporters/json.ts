// result.json extended with the comparison: the run as `run` wrote it, plus `comparison`, so one
// file holds both the measurements and the verdict drawn from them.
import type { Comparison, RunResult } from '../types.ts'

export function renderJson(result: RunResult, comparison: Comparison): string {
  const extended: RunResult = { ...result, comparison }
  return `${JSON.stringify(extended, null, 2)}\n`
}
