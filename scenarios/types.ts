// The auth scenarios are written against authbench's public API, as any user's scenarios are.
export type { DefaultLoad, InstanceStats, RequestSpec, Scenario, ScenarioInstance, ScenarioParams, SetupContext } from '../harness/index.ts'
