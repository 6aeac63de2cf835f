// Scenario request factories: the bodies, headers and statuses each request carries, and the mix.
import { describe, expect, it } from 'vitest'
import { BASE_PATH, DEFAULT_MIX, pickWeighted } from '../../scenarios/catalog.ts'
import { healthRequest } from '../../scenarios/health.ts'
import { mixedOptions, mixedRequestFactory, parseWeights } from '../../scenarios/mixed.ts'
import { ottIssueRequest, ottRedeemRequest } from '../../scenarios/ott.ts'
import { revokeRequest } from '../../scenarios/revoke.ts'
import { getScenario, SCENARIO_NAMES } from '../../scenarios/registry.ts'
import { ConsumablePool } from '../../scenarios/seeder.ts'
import { tokenRequest } from '../../scenarios/token.ts'
import { validateOptions, validateRequestFactory } from '../../scenarios/validate.ts'

describe('single-endpoint requests', () => {
  it('health is GET / expecting 200', () => {
    expect(healthRequest()).toMatchObject({ method: 'GET', path: `${BASE_PATH}/`, expectedStatuses: [200] })
  })

  it('token sends the client_credentials body as JSON', () => {
    const spec = tokenRequest()
    expect(spec).toMatchObject({ method: 'POST', path: `${BASE_PATH}/token`, expectedStatuses: [200] })
    expect(spec.headers?.['content-type']).toBe('application/json')
    expect(JSON.parse(spec.body ?? '')).toEqual({ grant_type: 'client_credentials', client_id: 'test-client', client_secret: 'test-secret-123' })
  })

  it('ott issues with the same body and redeems through /validate with the OTT as bearer', () => {
    expect(ottIssueRequest()).toMatchObject({ path: `${BASE_PATH}/ott`, body: tokenRequest().body, expectedStatuses: [200] })
    const redeem = ottRedeemRequest('ott-1')
    expect(redeem).toMatchObject({ method: 'POST', path: `${BASE_PATH}/validate`, expectedStatuses: [200] })
    expect(redeem.headers?.authorization).toBe('Bearer ott-1')
    expect(JSON.parse(redeem.body ?? '')).toEqual({ resource: '/quotes/ltp' })
  })

  it('revoke sends the token as bearer and no body', () => {
    const spec = revokeRequest('jwt-a')
    expect(spec).toMatchObject({ method: 'POST', path: `${BASE_PATH}/revoke`, expectedStatuses: [200] })
    expect(spec.headers).toEqual({ authorization: 'Bearer jwt-a' })
    expect(spec.body).toBeUndefined()
  })
})

describe('validate', () => {
  it('round-robins live tokens on the success path', () => {
    const next = validateRequestFactory(['a', 'b', 'c'], 0)
    const auths = Array.from({ length: 6 }, () => next().headers?.authorization)
    expect(auths).toEqual(['Bearer a', 'Bearer b', 'Bearer c', 'Bearer a', 'Bearer b', 'Bearer c'])
    expect(next()).toMatchObject({ path: `${BASE_PATH}/validate`, expectedStatuses: [200], body: '{"resource":"/quotes/ltp"}' })
  })

  it('sends exactly the configured share of forged tokens, each expecting 401', () => {
    const next = validateRequestFactory(['a', 'b'], 0.1)
    const specs = Array.from({ length: 1_000 }, next)
    const forged = specs.filter((s) => s.tag === 'validate-invalid')
    expect(forged).toHaveLength(100)
    expect(forged.every((s) => s.expectedStatuses.length === 1 && s.expectedStatuses[0] === 401)).toBe(true)
    expect(new Set(forged.map((s) => s.headers?.authorization)).size).toBe(100)
  })

  it('rejects a bad invalidShare naming it', () => {
    expect(() => validateOptions({ invalidShare: '1.5' })).toThrow(/invalidShare/)
    expect(() => validateOptions({ bogus: '1' })).toThrow(/bogus/)
  })
})

describe('consumable pools', () => {
  it('hands out each token once, then counts exhaustion', () => {
    const pool = new ConsumablePool()
    pool.add(['t1', 't2'])
    expect([pool.take(), pool.take()]).toEqual(['t1', 't2'])
    expect(pool.exhausted).toBe(0)
    pool.take()
    expect(pool.exhausted).toBe(1)
    pool.add(['t3'])
    expect(pool.take()).toBe('t3')
  })
})

describe('mixed', () => {
  const draw = (weightsRaw: string | undefined, n: number): Record<string, number> => {
    const opts = mixedOptions(weightsRaw === undefined ? {} : { weights: weightsRaw })
    let ottN = 0
    let revokeN = 0
    const next = mixedRequestFactory(
      opts,
      () => ({ method: 'POST', path: '/v', expectedStatuses: [200], tag: 'validate' }),
      () => `ott-${ottN++}`,
      () => `rev-${revokeN++}`
    )
    const counts: Record<string, number> = {}
    for (let i = 0; i < n; i++) {
      const tag = next().tag ?? '?'
      counts[tag] = (counts[tag] ?? 0) + 1
    }
    return counts
  }

  it('follows the default 70/15/10/5 weights within tolerance', () => {
    const n = 20_000
    const c = draw(undefined, n)
    const share = (k: number | undefined): number => (k ?? 0) / n
    expect(share(c.validate)).toBeCloseTo(0.7, 1)
    expect(Math.abs(share(c.validate) - 0.7)).toBeLessThan(0.015)
    expect(Math.abs(share(c.token) - 0.15)).toBeLessThan(0.015)
    expect(Math.abs(share((c['ott-issue'] ?? 0) + (c['ott-redeem'] ?? 0)) - 0.1)).toBeLessThan(0.015)
    expect(Math.abs(share(c.revoke) - 0.05)).toBeLessThan(0.01)
    // Issue and redeem alternate: the OTT share splits evenly.
    expect(Math.abs((c['ott-issue'] ?? 0) - (c['ott-redeem'] ?? 0))).toBeLessThanOrEqual(1)
  })

  it('accepts custom weights and is deterministic for a seed', () => {
    const c = draw('validate:1,revoke:1', 10_000)
    expect(c.token).toBeUndefined()
    expect(Math.abs((c.revoke ?? 0) / 10_000 - 0.5)).toBeLessThan(0.03)
    expect(draw('validate:1,revoke:1', 500)).toEqual(draw('validate:1,revoke:1', 500))
  })

  it('rejects malformed weights naming the parameter', () => {
    expect(() => parseWeights('validate:70,bogus:5')).toThrow(/weights/)
    expect(() => parseWeights('validate:0')).toThrow(/positive/)
    expect(() => parseWeights('validate=3')).toThrow(/kind:weight/)
  })

  it('pickWeighted covers the whole unit interval', () => {
    expect(pickWeighted(DEFAULT_MIX, 0)).toBe('validate')
    expect(pickWeighted(DEFAULT_MIX, 0.9999999)).toBe('revoke')
  })
})

describe('registry', () => {
  it('ships the six request scenarios and the two journeys, and names an unknown one', () => {
    expect(SCENARIO_NAMES).toEqual(['health', 'token', 'ott', 'validate', 'revoke', 'mixed', 'client-session', 'ott-flow'])
    expect(() => getScenario('nope')).toThrow(/unknown scenario "nope"/)
  })
})
