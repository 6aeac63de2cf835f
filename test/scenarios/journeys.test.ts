// The journey scenarios against the real target in this process, through the journey driver
// directly (about 1 s, closed model, 4 VUs): on a correct target no check and no iteration fails
// and the steps add up (N validations, one revoke and one refused validate per token); with
// INJECT_FORGET_REVOCATIONS the checks that a revoked token and a spent OTT are refused fail,
// while every step still answers as expected (a check failure, not a step failure).
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { JourneyDriver } from '../../harness/engine/drivers/journey.ts'
import type { JourneyOutcome } from '../../harness/engine/drivers/types.ts'
import { CLIENT_SESSION_VALIDATIONS, JOURNEY_CHECKS, JOURNEY_STEPS } from '../../scenarios/catalog.ts'
import { clientSession, clientSessionOptions } from '../../scenarios/client-session.ts'
import { ottFlow } from '../../scenarios/ott-flow.ts'
import { getScenario } from '../../scenarios/registry.ts'
import type { Scenario, ScenarioParams } from '../../scenarios/types.ts'
import { closeAllApps, makeApp } from '../target/helpers.ts'

afterEach(closeAllApps)

const VUS = 4

/** Runs `scenario` for 1 s (after 200 ms of warm-up) against a fresh target started with `env`. */
async function drive(scenario: Scenario, env: Record<string, string> = {}, params: ScenarioParams = {}): Promise<JourneyOutcome> {
  const app = await makeApp(env)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const instance = await scenario.setup({ url, expectedRequests: 0, maxPoolSize: 0, concurrency: 1, params })
  expect(instance.journey).toBeDefined()
  const scenarioErrors: string[] = []
  const outcome = await new JourneyDriver().run({
    url,
    load: { model: 'closed', durationMs: 1_000, warmupMs: 200, connections: VUS, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 5_000 },
    nextRequest: instance.nextRequest,
    ...(instance.journey === undefined ? {} : { journey: instance.journey }),
    onScenarioError: (message) => scenarioErrors.push(message)
  })
  expect(scenarioErrors).toEqual([])
  expect(outcome.journey).toBeDefined()
  return outcome.journey as JourneyOutcome
}

const requestsOf = (j: JourneyOutcome, step: string): number => j.steps[step]?.requests ?? 0
const statusesOf = (j: JourneyOutcome, step: string): Record<string, number> => j.steps[step]?.statusCounts ?? {}
const checkFailures = (j: JourneyOutcome): number => Object.values(j.checks).reduce((sum, c) => sum + c.failures, 0)

/** Every iteration that began in the window ran to its end: the steps add up exactly. */
function expectSessionsAddUp(j: JourneyOutcome, validations: number): number {
  const tokens = requestsOf(j, JOURNEY_STEPS.token)
  expect(tokens).toBeGreaterThan(20)
  expect(j.iterations).toMatchObject({ started: tokens, completed: tokens, failed: 0, dropped: 0 })
  expect(requestsOf(j, JOURNEY_STEPS.validate)).toBe(validations * tokens)
  expect(requestsOf(j, JOURNEY_STEPS.revoke)).toBe(tokens)
  expect(requestsOf(j, JOURNEY_STEPS.validateRevoked)).toBe(tokens)
  for (const step of Object.values(j.steps)) expect(step.errors).toBe(0)
  return tokens
}

describe('client-session', () => {
  it('on a correct target: no failed check or iteration, N validations per token, every revoked token refused', async () => {
    const j = await drive(clientSession)
    const tokens = expectSessionsAddUp(j, CLIENT_SESSION_VALIDATIONS)
    expect(checkFailures(j)).toBe(0)
    expect(j.checks[JOURNEY_CHECKS.tokenValid]).toEqual({ passes: CLIENT_SESSION_VALIDATIONS * tokens, failures: 0 })
    expect(j.checks[JOURNEY_CHECKS.revokedRefused]).toEqual({ passes: tokens, failures: 0 })
    expect(statusesOf(j, JOURNEY_STEPS.validateRevoked)).toEqual({ '401': tokens })
    expect(j.failures).toEqual({})
  }, 20_000)

  it('takes the number of validations as a parameter, and refuses a bad one naming it', async () => {
    const j = await drive(clientSession, {}, { validations: '1' })
    expectSessionsAddUp(j, 1)
    expect(checkFailures(j)).toBe(0)
    expect(() => clientSessionOptions({ validations: '-1' })).toThrow(/validations/)
    expect(() => clientSessionOptions({ validations: 'three' })).toThrow(/validations/)
    expect(() => clientSession.checkParams({ rounds: '2' })).toThrow(/rounds/)
  }, 20_000)

  // phase3 revokes through the worker pool, off the request path: a revocation is answered before
  // it is durable, and validate must still see it at once.
  it('refuses every revoked token when revocations go through the worker pool (phase3)', async () => {
    const j = await drive(clientSession, { PRESET: 'phase3' })
    expectSessionsAddUp(j, CLIENT_SESSION_VALIDATIONS)
    expect(checkFailures(j)).toBe(0)
  }, 20_000)

  it('with INJECT_FORGET_REVOCATIONS=1 every revoked token still validates: the check fails, no step does', async () => {
    const j = await drive(clientSession, { INJECT_FORGET_REVOCATIONS: '1' })
    const tokens = expectSessionsAddUp(j, CLIENT_SESSION_VALIDATIONS)
    expect(j.checks[JOURNEY_CHECKS.revokedRefused]).toEqual({ passes: 0, failures: tokens })
    expect(j.checks[JOURNEY_CHECKS.tokenValid]?.failures).toBe(0)
    expect(statusesOf(j, JOURNEY_STEPS.validateRevoked)).toEqual({ '200': tokens })
  }, 20_000)
})

describe('ott-flow', () => {
  function expectFlowsAddUp(j: JourneyOutcome): number {
    const otts = requestsOf(j, JOURNEY_STEPS.ott)
    expect(otts).toBeGreaterThan(20)
    expect(j.iterations).toMatchObject({ started: otts, completed: otts, failed: 0, dropped: 0 })
    expect(requestsOf(j, JOURNEY_STEPS.validate)).toBe(otts)
    expect(requestsOf(j, JOURNEY_STEPS.validateSpent)).toBe(otts)
    for (const step of Object.values(j.steps)) expect(step.errors).toBe(0)
    return otts
  }

  it('on a correct target: each OTT is redeemed once and refused the second time', async () => {
    const j = await drive(ottFlow)
    const otts = expectFlowsAddUp(j)
    expect(checkFailures(j)).toBe(0)
    expect(j.checks[JOURNEY_CHECKS.ottValid]).toEqual({ passes: otts, failures: 0 })
    expect(j.checks[JOURNEY_CHECKS.spentRefused]).toEqual({ passes: otts, failures: 0 })
    expect(statusesOf(j, JOURNEY_STEPS.validateSpent)).toEqual({ '401': otts })
  }, 20_000)

  it('with INJECT_FORGET_REVOCATIONS=1 a spent OTT still validates: the check fails, no step does', async () => {
    const j = await drive(ottFlow, { INJECT_FORGET_REVOCATIONS: '1' })
    const otts = expectFlowsAddUp(j)
    expect(j.checks[JOURNEY_CHECKS.spentRefused]).toEqual({ passes: 0, failures: otts })
    expect(j.checks[JOURNEY_CHECKS.ottValid]?.failures).toBe(0)
  }, 20_000)
})

describe('registration', () => {
  it('both journeys are in the reference config, each with its k6 script', () => {
    for (const name of ['client-session', 'ott-flow']) {
      const scenario = getScenario(name)
      expect(scenario.journey).toBe(true)
      expect(scenario.description).toMatch(/^journey: /)
      expect(scenario.k6Script !== undefined && existsSync(scenario.k6Script)).toBe(true)
    }
  })
})
