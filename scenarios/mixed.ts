// mixed: a weighted mix of the auth endpoints, default 70% validate, 15% token, 10% ott, 5% revoke.
// Kinds are drawn from a seeded generator so that two runs send the same sequence.
import { DEFAULT_LOAD, DEFAULT_MIX, pickWeighted } from './catalog.ts'
import type { MixKind, MixWeights } from './catalog.ts'
import { ScenarioParamError } from './errors.ts'
import { ottIssueRequest, ottRedeemRequest } from './ott.ts'
import { checkKnown, intParam } from './params.ts'
import { revokeRequest } from './revoke.ts'
import { TokenSupply } from './seeder.ts'
import { tokenRequest } from './token.ts'
import { seedValidatePool, validateRequestFactory } from './validate.ts'
import type { RequestSpec, Scenario, ScenarioInstance, ScenarioParams, SetupContext } from './types.ts'
import { defineScenario } from '../harness/index.ts'
import { k6Script } from './k6-script.ts'

const PARAMS = Object.freeze({
  weights: 'comma list kind:weight over validate, token, ott, revoke; default validate:70,token:15,ott:10,revoke:5',
  seed: 'seed of the kind sequence (integer); default 1',
  poolSize: 'distinct live tokens for the validate share; default 1000'
})

const KINDS: readonly MixKind[] = ['validate', 'token', 'ott', 'revoke']

export function parseWeights(raw: string): MixWeights {
  const weights: Record<MixKind, number> = { validate: 0, token: 0, ott: 0, revoke: 0 }
  for (const part of raw.split(',')) {
    const [kind, value, extra] = part.split(':').map((s) => s.trim())
    const w = Number(value)
    if (kind === undefined || !(KINDS as readonly string[]).includes(kind) || value === undefined || extra !== undefined || value === '' || !Number.isFinite(w) || w < 0) {
      throw new ScenarioParamError('mixed', 'weights', `"${part}" is not kind:weight with kind one of ${KINDS.join(', ')} and weight ≥ 0`)
    }
    weights[kind as MixKind] = w
  }
  if (KINDS.every((k) => weights[k] === 0)) throw new ScenarioParamError('mixed', 'weights', 'at least one weight must be positive')
  return Object.freeze(weights)
}

export interface MixedOptions {
  weights: MixWeights
  seed: number
  poolSize: number
}

export function mixedOptions(params: ScenarioParams): MixedOptions {
  checkKnown('mixed', params, PARAMS)
  return {
    weights: params.weights === undefined ? DEFAULT_MIX : parseWeights(params.weights),
    seed: intParam('mixed', params, 'seed', 1, 0, 2 ** 31 - 1),
    poolSize: intParam('mixed', params, 'poolSize', 1_000, 1, 1_000_000)
  }
}

/** mulberry32: tiny, fast and good enough to spread request kinds; not for anything secret. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function share(weights: MixWeights, kind: MixKind): number {
  const total = KINDS.reduce((s, k) => s + weights[k], 0)
  return weights[kind] / total
}

/** The request factory alone, given seeded data: exposed for tests of the mix. */
export function mixedRequestFactory(opts: MixedOptions, nextValidate: () => RequestSpec, takeOtt: () => string, takeRevoke: () => string): () => RequestSpec {
  const uniform = seededUniform(opts.seed)
  let ottIssueNext = true
  return () => {
    switch (pickWeighted(opts.weights, uniform())) {
      case 'validate':
        return nextValidate()
      case 'token':
        return tokenRequest()
      case 'ott': {
        // As in the ott scenario: issue and redeem alternate, each redeem spending a distinct OTT.
        ottIssueNext = !ottIssueNext
        return ottIssueNext ? ottRedeemRequest(takeOtt()) : ottIssueRequest()
      }
      case 'revoke':
        return revokeRequest(takeRevoke())
    }
  }
}

export const mixed: Scenario = defineScenario({
  name: 'mixed',
  k6Script: k6Script('mixed'),
  description: 'weighted mix: default 70% validate, 15% token, 10% ott (issue/redeem), 5% revoke',
  consumes: true,
  defaultLoad: DEFAULT_LOAD,
  params: PARAMS,
  checkParams: (params) => void mixedOptions(params),
  async setup(ctx: SetupContext): Promise<ScenarioInstance> {
    const opts = mixedOptions(ctx.params)
    const ottSupply = new TokenSupply('ott', ctx.url, ctx.maxPoolSize, ctx.concurrency)
    const revokeSupply = new TokenSupply('token', ctx.url, ctx.maxPoolSize, ctx.concurrency)
    const ottPerRequest = share(opts.weights, 'ott') / 2
    const revokePerRequest = share(opts.weights, 'revoke')
    const ensure = async (n: number, signal?: AbortSignal): Promise<void> => {
      await ottSupply.ensure(n * ottPerRequest, signal)
      await revokeSupply.ensure(n * revokePerRequest, signal)
    }
    const pool = share(opts.weights, 'validate') > 0 ? await seedValidatePool(ctx, opts.poolSize) : { tokens: [], setupMs: 0 }
    await ensure(ctx.expectedRequests, ctx.signal)
    const factory = mixedRequestFactory(
      opts,
      validateRequestFactory(pool.tokens, 0),
      () => ottSupply.pool.take(),
      () => revokeSupply.pool.take()
    )
    return {
      nextRequest: factory,
      refill: ensure,
      resetStats: () => {
        ottSupply.pool.exhausted = 0
        revokeSupply.pool.exhausted = 0
      },
      stats: () => ({
        seeded: pool.tokens.length + ottSupply.seeded + revokeSupply.seeded,
        exhaustedRequests: ottSupply.pool.exhausted + revokeSupply.pool.exhausted,
        setupMs: pool.setupMs + ottSupply.setupMs + revokeSupply.setupMs
      }),
      capacity: () => {
        // Kinds are drawn at random, so keep a tenth in reserve against a run of revokes or OTTs.
        const limits = [ottPerRequest > 0 ? ottSupply.pool.remaining / ottPerRequest : Infinity, revokePerRequest > 0 ? revokeSupply.pool.remaining / revokePerRequest : Infinity]
        const min = Math.min(...limits)
        return Number.isFinite(min) ? Math.floor(min * 0.9) : null
      }
    }
  }
})
