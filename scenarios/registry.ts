// Name → scenario lookup. Kept apart from index.ts so that index.ts only re-exports.
import { clientSession } from './client-session.ts'
import { UnknownScenarioError } from './errors.ts'
import { health } from './health.ts'
import { mixed } from './mixed.ts'
import { ott } from './ott.ts'
import { ottFlow } from './ott-flow.ts'
import { revoke } from './revoke.ts'
import { token } from './token.ts'
import type { Scenario } from './types.ts'
import { validate } from './validate.ts'

export const SCENARIOS: readonly Scenario[] = Object.freeze([health, token, ott, validate, revoke, mixed, clientSession, ottFlow])
export const SCENARIO_NAMES: readonly string[] = Object.freeze(SCENARIOS.map((s) => s.name))

export function getScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name)
  if (s === undefined) throw new UnknownScenarioError(name, SCENARIO_NAMES)
  return s
}
