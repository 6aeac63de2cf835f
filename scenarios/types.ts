// What a scenario is: a named workload that seeds what it needs through the target's public API,
// then hands the driver one fresh RequestSpec per request. Scenarios know nothing of drivers,
// trials or the terminal; the engine owns the order setup → warm-up → refill → measure.
import type { RequestSpec } from '../harness/drivers/types.ts'
import type { DefaultLoad } from './catalog.ts'

export type { RequestSpec }

/** Scenario parameters as given on the command line (`--scenario-param validate.invalidShare=0.1`). */
export type ScenarioParams = Readonly<Record<string, string>>

export interface SetupContext {
  /** Base URL of the target, e.g. http://127.0.0.1:3000 */
  url: string
  /** How many requests the instance should serve before its consumable data runs dry. */
  expectedRequests: number
  /** Upper bound on consumable items (tokens, one-time tokens) seeded per trial. */
  maxPoolSize: number
  /** Concurrent requests while seeding. */
  concurrency: number
  params: ScenarioParams
  signal?: AbortSignal
}

export interface InstanceStats {
  /** Items issued through the public API for this instance (all setups and refills). */
  seeded: number
  /** Requests sent after a consumable pool ran dry (they reuse an item and are not the success path). */
  exhaustedRequests: number
  /** Time spent seeding, in ms. */
  setupMs: number
}

/** One trial's live scenario: owns its seeded data. */
export interface ScenarioInstance {
  /** Synchronous and cheap: the driver calls it once per request on its hot path. */
  nextRequest(): RequestSpec
  /**
   * Set when every request is this one frozen spec (health, token): the closed driver then hands
   * autocannon a static request it builds once, instead of calling nextRequest per send.
   */
  fixedRequest?: RequestSpec
  /** Make sure `expectedRequests` more requests can be served (tops up consumables). */
  refill(expectedRequests: number, signal?: AbortSignal): Promise<void>
  /** Start counting exhaustion afresh: warm-up exhaustion must not invalidate the measured phase. */
  resetStats(): void
  stats(): InstanceStats
  /**
   * Requests that can still be sent before a consumable pool runs dry; null when nothing is
   * consumed. The engine caps a closed-model trial's request count with it, so a trial that
   * outruns its pool ends early on the success path instead of reusing spent tokens.
   */
  capacity(): number | null
}

export interface Scenario {
  name: string
  description: string
  /** True when every request uses up a seeded item, so the pool must be sized to the run. */
  consumes: boolean
  defaultLoad: DefaultLoad
  /** Parameter names this scenario accepts, with what they mean. */
  params: Readonly<Record<string, string>>
  /** Throws a ScenarioParamError naming the bad parameter; called before any traffic. */
  checkParams(params: ScenarioParams): void
  setup(ctx: SetupContext): Promise<ScenarioInstance>
}
