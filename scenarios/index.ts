// The scenario registry: re-exports only. Order is the order `authbench run` runs them in.
export { health } from './health.ts'
export { token } from './token.ts'
export { ott } from './ott.ts'
export { validate } from './validate.ts'
export { revoke } from './revoke.ts'
export { mixed } from './mixed.ts'
export { SCENARIOS, SCENARIO_NAMES, getScenario } from './registry.ts'
export type { Scenario, ScenarioInstance, ScenarioParams, SetupContext, InstanceStats } from './types.ts'
