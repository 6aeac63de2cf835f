// validate: POST /validate with a live access token from a seeded pool, so that the success path
// (signature, expiry and revocation checks) is what is measured, plus a configurable share of
// forged tokens expecting 401.
import { DEFAULT_LOAD, ENDPOINTS, EXPECTED_STATUS, bearerHeaders, invalidJwt, validateBody } from './catalog.ts'
import { checkKnown, intParam, shareParam } from './params.ts'
import { issueTokens } from './seeder.ts'
import type { RequestSpec, Scenario, ScenarioInstance, ScenarioParams, SetupContext } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({
  invalidShare: 'share of requests (0..1) sent with a forged token, expecting 401; default 0',
  poolSize: 'distinct live tokens validated round-robin; default 1000'
})

const BODY = validateBody()

export interface ValidateOptions {
  invalidShare: number
  poolSize: number
}

export function validateOptions(params: ScenarioParams): ValidateOptions {
  checkKnown('validate', params, PARAMS)
  return {
    invalidShare: shareParam('validate', params, 'invalidShare', 0),
    poolSize: intParam('validate', params, 'poolSize', 1_000, 1, 1_000_000)
  }
}

/**
 * Round-robin over live tokens; invalid requests are spread evenly (an error accumulator, not a
 * random draw) so a short trial carries exactly the configured share.
 */
export function validateRequestFactory(tokens: readonly string[], invalidShare: number): () => RequestSpec {
  const specs: RequestSpec[] = tokens.map((t) =>
    Object.freeze({ method: 'POST', path: ENDPOINTS.validate.path, headers: bearerHeaders(t, true), body: BODY, expectedStatuses: EXPECTED_STATUS.validate, tag: 'validate' })
  )
  let i = 0
  let invalidAcc = 0
  let forged = 0
  return () => {
    invalidAcc += invalidShare
    if (invalidAcc >= 1 - 1e-9 || specs.length === 0) {
      invalidAcc -= 1
      return {
        method: 'POST',
        path: ENDPOINTS.validate.path,
        headers: bearerHeaders(invalidJwt(forged++), true),
        body: BODY,
        expectedStatuses: EXPECTED_STATUS.validateInvalid,
        tag: 'validate-invalid'
      }
    }
    const spec = specs[i] as RequestSpec
    i = (i + 1) % specs.length
    return spec
  }
}

export async function seedValidatePool(ctx: SetupContext, poolSize: number): Promise<{ tokens: string[]; setupMs: number }> {
  const started = Date.now()
  const tokens = await issueTokens({ url: ctx.url, kind: 'token', count: Math.min(poolSize, ctx.maxPoolSize), concurrency: ctx.concurrency, signal: ctx.signal })
  return { tokens, setupMs: Date.now() - started }
}

export const validate: Scenario = defineScenario({
  name: 'validate',
  k6Script: k6Script('validate'),
  description: 'POST /validate with live tokens (success path), optional share of forged tokens (401)',
  consumes: false,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => void validateOptions(params),
  async setup(ctx: SetupContext): Promise<ScenarioInstance> {
    const opts = validateOptions(ctx.params)
    // With every request forged there is nothing to seed.
    const { tokens, setupMs } = opts.invalidShare >= 1 ? { tokens: [], setupMs: 0 } : await seedValidatePool(ctx, opts.poolSize)
    return {
      nextRequest: validateRequestFactory(tokens, opts.invalidShare),
      refill: async () => undefined,
      resetStats: () => undefined,
      stats: () => ({ seeded: tokens.length, exhaustedRequests: 0, setupMs }),
      capacity: () => null
    }
  }
})
