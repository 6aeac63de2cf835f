// The auth scenarios' k6 scripts: one per harness scenario, named as the scenario.
export const K6_SCENARIOS = Object.freeze(['health', 'token', 'ott', 'validate', 'revoke', 'mixed'] as const)
export type K6ScenarioName = (typeof K6_SCENARIOS)[number]
