// What a scenario of any kind is given: the methods a request may use, and the context its setup
// runs in. A file of its own so that the request API (api.ts) and the journey API (journey.ts)
// both build on it without importing each other.

/** The methods a request may use. */
export const HTTP_METHODS = Object.freeze(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)
export type HttpMethod = (typeof HTTP_METHODS)[number]

/** Scenario parameters as given on the command line (`--scenario-param validate.invalidShare=0.1`). */
export type ScenarioParams = Readonly<Record<string, string>>

/** What a scenario's `setup` gets: where the target is, how much to seed, and how. */
export interface SetupContext {
  /** Base URL of the target, e.g. http://127.0.0.1:3000 (no trailing slash). */
  url: string
  /** How many requests the instance should serve before its consumable data runs dry. */
  expectedRequests: number
  /** Upper bound on consumable items (ids, sessions, one-time codes, …) seeded per trial (`--max-pool`). */
  maxPoolSize: number
  /** How many seeding requests may be in flight at once. */
  concurrency: number
  /** The scenario's parameters, already checked by `checkParams`. */
  params: ScenarioParams
  /** Aborted when the run stops (Ctrl-C, target crash): seeding should stop at once. */
  signal?: AbortSignal
}
