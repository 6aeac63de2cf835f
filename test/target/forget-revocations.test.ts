// INJECT_FORGET_REVOCATIONS: the test-only fault under which validate ignores revocations and OTT
// consumption (both still recorded), so the journeys' correctness checks have a known failure to
// find. Off by default and in every preset; a bad value is refused naming the variable.
import { afterEach, describe, expect, it } from 'vitest'
import { PRESETS, loadConfig } from '../../target/config.ts'
import { ConfigError } from '../../target/errors.ts'
import { SECRET, closeAllApps, getOtt, getToken, makeApp, revoke, validate } from './helpers.ts'

afterEach(closeAllApps)

describe('INJECT_FORGET_REVOCATIONS', () => {
  it('is off by default, in every preset, and when set empty', () => {
    expect(loadConfig({ JWT_SECRET: SECRET }).injectForgetRevocations).toBe(false)
    for (const preset of PRESETS) expect(loadConfig({ JWT_SECRET: SECRET, PRESET: preset }).injectForgetRevocations).toBe(false)
    expect(loadConfig({ JWT_SECRET: SECRET, INJECT_FORGET_REVOCATIONS: '' }).injectForgetRevocations).toBe(false)
    expect(loadConfig({ JWT_SECRET: SECRET, INJECT_FORGET_REVOCATIONS: '0' }).injectForgetRevocations).toBe(false)
    expect(loadConfig({ JWT_SECRET: SECRET, INJECT_FORGET_REVOCATIONS: 'true' }).injectForgetRevocations).toBe(true)
  })

  it.each(['yes', '2', 'on', 'TRUE'])('refuses %j naming the variable', (value) => {
    let error: unknown
    try {
      loadConfig({ JWT_SECRET: SECRET, INJECT_FORGET_REVOCATIONS: value })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).variable).toBe('INJECT_FORGET_REVOCATIONS')
  })

  it('off: a revoked token and a spent OTT answer 401', async () => {
    const app = await makeApp()
    const jwt = await getToken(app)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    expect((await validate(app, jwt)).statusCode).toBe(401)
    const ott = await getOtt(app)
    expect((await validate(app, ott)).statusCode).toBe(200)
    expect((await validate(app, ott)).statusCode).toBe(401)
  })

  // phase3 revokes through the worker pool and consumes OTTs in memory: the other code path.
  it.each(['phase2', 'phase3'])('on (%s): revoke and redeem answer as usual, and both tokens still validate', async (preset) => {
    const app = await makeApp({ PRESET: preset, INJECT_FORGET_REVOCATIONS: '1' })
    const jwt = await getToken(app)
    expect((await validate(app, jwt)).statusCode).toBe(200)
    expect((await revoke(app, jwt)).statusCode).toBe(200)
    expect((await validate(app, jwt)).statusCode).toBe(200)
    const ott = await getOtt(app)
    for (let i = 0; i < 3; i++) expect((await validate(app, ott)).statusCode).toBe(200)
    // What the fault changed is counted apart from the honest answers, and the config says it is on.
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(metrics).toMatch(/authbench_validations_total\{outcome="forgotten"\} 3\b/)
    expect(metrics).toMatch(/authbench_validations_total\{outcome="valid"\} 2\b/)
    const stats = (await app.inject({ method: 'GET', url: '/auth-server/v1/oauth/debug/stats' })).json() as { config: Record<string, unknown> }
    expect(stats.config.injectForgetRevocations).toBe(true)
  })
})
