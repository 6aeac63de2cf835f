// The auth scenarios' k6 scripts: one per harness scenario, named as the scenario. The journeys'
// scripts use k6's `group` as well, so they are listed apart from the request scenarios'.
export const K6_SCENARIOS = Object.freeze(['health', 'token', 'ott', 'validate', 'revoke', 'mixed'] as const)
export type K6ScenarioName = (typeof K6_SCENARIOS)[number]
export const K6_JOURNEYS = Object.freeze(['client-session', 'ott-flow'] as const)
export type K6JourneyName = (typeof K6_JOURNEYS)[number]
export type K6ScriptName = K6ScenarioName | K6JourneyName
