// The auth scenarios are written against authbench's public API, as any user's scenarios are.
export type { DefaultLoad, InstanceStats, RequestSpec, Scenario, ScenarioInstance, ScenarioParams, SetupContext } from '../harness/index.ts'

import type { ScenarioDefinition } from '../harness/index.ts'

// The journey types, read off the public root's ScenarioDefinition: the root re-exports
// defineScenario's types but not harness/journey.ts's own names.
/** What a journey iteration gets: the client, its checks, its state. */
export type VirtualUser<State = Record<string, unknown>, Data = unknown> = Parameters<NonNullable<ScenarioDefinition<State, Data>['journey']>['iteration']>[0]
/** A request a VU sends (`vu.request`). */
export type JourneyRequest = Parameters<VirtualUser['request']>[0]
/** An answer as a VU reads it. */
export type JourneyResponse = Awaited<ReturnType<VirtualUser['request']>>
