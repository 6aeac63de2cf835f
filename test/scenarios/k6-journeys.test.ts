// The journeys' k6 scripts (scenarios/k6/client-session.ts, ott-flow.ts): type-stripped as k6 does
// (esbuild, loader ts, no bundling) and run in Node against a stand-in for k6's modules and a
// stand-in target that remembers revocations and spent OTTs, or forgets them. They send the
// requests the harness's journeys send, in the same order, with the same step names as `name`
// tags, inside one k6 group; a forgotten revocation fails their check, not their status.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildK6Tree } from '../helpers/k6-tree.ts'
import { CLIENT_SESSION_VALIDATIONS, ENDPOINTS, JOURNEY_CHECKS, JOURNEY_STEPS } from '../../scenarios/catalog.ts'
import { issueStep, refusedValidateStep, revokeStep, validateStep } from '../../scenarios/journey-requests.ts'
import { K6_JOURNEYS } from '../../scenarios/k6/scripts.ts'
import * as k6Requests from '../../scenarios/k6/requests.ts'

const BASE_URL = 'http://127.0.0.1:3999'

interface Sent {
  path: string
  tag: string | undefined
  group: string | undefined
  authorization: string | undefined
  status: number
}

/** k6's modules and a target that answers like the reference one, or forgets revocations. */
interface Fake {
  sent: Sent[]
  checks: Array<{ name: string; ok: boolean }>
  groups: string[]
  forget: boolean
  request: (method: string, url: string, body: string | null, params?: { headers?: Record<string, string>; tags?: Record<string, string> }) => unknown
}

function freshFake(forget = false): Fake {
  const revoked = new Set<string>()
  let issued = 0
  const fake: Fake = {
    sent: [],
    checks: [],
    groups: [],
    forget,
    request(_method, url, _body, params) {
      const p = new URL(url).pathname
      const bearer = params?.headers?.authorization?.replace(/^Bearer /, '') ?? ''
      let status = 200
      let text = '{}'
      if (p === ENDPOINTS.token.path || p === ENDPOINTS.ott.path) text = JSON.stringify({ access_token: `${p === ENDPOINTS.ott.path ? 'ott' : 'jwt'}-${++issued}` })
      else if (p === ENDPOINTS.revoke.path) revoked.add(bearer)
      else if (p === ENDPOINTS.validate.path) {
        if (revoked.has(bearer) && !fake.forget) status = 401
        else text = JSON.stringify({ valid: true })
        // Redeeming an OTT spends it.
        if (bearer.startsWith('ott-')) revoked.add(bearer)
      }
      fake.sent.push({ path: p, tag: params?.tags?.name, group: fake.groups.at(-1), authorization: params?.headers?.authorization, status })
      return { status, body: text, error_code: 0, json: (sel?: string) => (sel === undefined ? JSON.parse(text) : (JSON.parse(text) as Record<string, unknown>)[sel]) }
    }
  }
  return fake
}

const FAKE_MODULES: Record<string, string> = {
  k6: `const s = () => globalThis.__fakeK6
export function check(v, sets) { let all = true; for (const [name, fn] of Object.entries(sets)) { const ok = Boolean(fn(v)); s().checks.push({ name, ok }); all &&= ok } return all }
export function group(name, fn) { s().groups.push(name); try { return fn() } finally { s().groups.pop() } }
export function sleep() {}
export default { check, group, sleep }`,
  'k6/http': `const request = (m, u, b, p) => globalThis.__fakeK6.request(m, u, b, p)
const batch = (reqs) => reqs.map((r) => request(r.method, r.url, r.body ?? null, r.params))
export default { request, batch }`,
  'k6/metrics': `class M { constructor(name) { this.name = name } add() {} }
export class Counter extends M {}
export class Gauge extends M {}
export class Rate extends M {}
export class Trend extends M {}`,
  'k6/execution': `export default { scenario: { iterationInTest: 0 }, vu: { idInTest: 1 } }`
}

interface Script {
  options: { scenarios: Record<string, Record<string, unknown>> }
  setup: () => unknown
  default: () => void
}

let build = ''
beforeAll(async () => {
  // Stripped once; each load copies the tree so every script gets fresh module state (as a VU does).
  build = await buildK6Tree('authbench-k6-journeys-', FAKE_MODULES)
})

let loads = 0
/** A fresh copy of the stripped tree per load: module state is per VU in k6. */
async function load(name: string, env: Record<string, string>, fake: Fake): Promise<Script> {
  const dir = path.join(build, `load-${loads++}`)
  mkdirSync(dir)
  for (const f of readdirSync(build).filter((x) => x.endsWith('.mjs'))) writeFileSync(path.join(dir, f), readFileSync(path.join(build, f)))
  const g = globalThis as unknown as { __fakeK6: Fake; __ENV: Record<string, string> }
  g.__fakeK6 = fake
  g.__ENV = env
  return (await import(/* @vite-ignore */ pathToFileURL(path.join(dir, `${name}.mjs`)).href)) as Script
}

async function iterate(name: string, n: number, env: Record<string, string> = {}, forget = false): Promise<Fake> {
  const fake = freshFake(forget)
  const script = await load(name, { BASE_URL, ...env }, fake)
  script.setup()
  for (let i = 0; i < n; i++) script.default()
  return fake
}

const tally = (fake: Fake, name: string): { passes: number; failures: number } => ({
  passes: fake.checks.filter((c) => c.name === name && c.ok).length,
  failures: fake.checks.filter((c) => c.name === name && !c.ok).length
})

describe('the journeys’ k6 scripts', () => {
  it('exist for both journeys, with both load models', async () => {
    for (const name of K6_JOURNEYS) {
      const open = (await load(name, { MODEL: 'open', RATE: '50', VUS: '4', DURATION: '2s' }, freshFake())).options
      expect(open.scenarios[name]).toMatchObject({ executor: 'constant-arrival-rate', rate: 50, preAllocatedVUs: 4, tags: { authbench: 'measure' } })
      const closed = (await load(name, { MODEL: 'closed', VUS: '8', DURATION: '3s' }, freshFake())).options
      expect(closed.scenarios[name]).toMatchObject({ executor: 'constant-vus', vus: 8, duration: '3s' })
    }
  })

  it('build their requests as the harness’s journeys do', () => {
    const same = (k6: k6Requests.K6Request, step: ReturnType<typeof validateStep>): void => {
      expect({ method: k6.method, path: k6.path, headers: k6.headers ?? {}, body: k6.body ?? null, expected: [...k6.expectedStatuses], name: k6.tag }).toEqual({
        method: step.method,
        path: step.path,
        headers: step.headers ?? {},
        body: step.body ?? null,
        expected: [...(step.expectedStatuses ?? [])],
        name: step.step
      })
    }
    same(k6Requests.TOKEN_REQUEST, issueStep('token'))
    same(k6Requests.OTT_STEP_REQUEST, issueStep('ott'))
    same(k6Requests.validateRequest('jwt-1'), validateStep('jwt-1'))
    same(k6Requests.revokeRequest('jwt-1'), revokeStep('jwt-1'))
    same(k6Requests.refusedValidateRequest('jwt-1', JOURNEY_STEPS.validateRevoked), refusedValidateStep('jwt-1', JOURNEY_STEPS.validateRevoked))
    same(k6Requests.refusedValidateRequest('ott-1', JOURNEY_STEPS.validateSpent), refusedValidateStep('ott-1', JOURNEY_STEPS.validateSpent))
  })

  it('client-session: token, N validations, revoke, a refused validate, in one group', async () => {
    const fake = await iterate('client-session', 5)
    const one = [JOURNEY_STEPS.token, ...new Array<string>(CLIENT_SESSION_VALIDATIONS).fill(JOURNEY_STEPS.validate), JOURNEY_STEPS.revoke, JOURNEY_STEPS.validateRevoked]
    expect(fake.sent.map((s) => s.tag)).toEqual(new Array(5).fill(one).flat())
    expect(fake.sent.every((s) => s.group === 'client-session')).toBe(true)
    // Each iteration's token is its own, and the refused validate presents the revoked one.
    expect(new Set(fake.sent.map((s) => s.authorization).filter((a) => a !== undefined)).size).toBe(5)
    expect(fake.sent.filter((s) => s.tag === JOURNEY_STEPS.validateRevoked).every((s) => s.status === 401)).toBe(true)
    expect(fake.checks.every((c) => c.ok)).toBe(true)
    expect(tally(fake, JOURNEY_CHECKS.revokedRefused)).toEqual({ passes: 5, failures: 0 })
    expect(tally(fake, JOURNEY_CHECKS.tokenValid)).toEqual({ passes: 5 * CLIENT_SESSION_VALIDATIONS, failures: 0 })
  })

  it('client-session takes VALIDATIONS, and refuses a bad one naming it', async () => {
    const fake = await iterate('client-session', 2, { VALIDATIONS: '1' })
    expect(fake.sent.filter((s) => s.tag === JOURNEY_STEPS.validate)).toHaveLength(2)
    await expect(load('client-session', { VALIDATIONS: '-1' }, freshFake())).rejects.toThrow(/AUTHBENCH_ERR_BAD_OPTION: VALIDATIONS/)
  })

  it('client-session against a target that forgets revocations: the check fails, every status was expected', async () => {
    const fake = await iterate('client-session', 4, {}, true)
    expect(tally(fake, JOURNEY_CHECKS.revokedRefused)).toEqual({ passes: 0, failures: 4 })
    expect(fake.sent.filter((s) => s.tag === JOURNEY_STEPS.validateRevoked).map((s) => s.status)).toEqual([200, 200, 200, 200])
    expect(fake.checks.filter((c) => c.name.includes(' status ')).every((c) => c.ok)).toBe(true)
  })

  it('ott-flow: ott, a redeeming validate, a refused validate of the same OTT, in one group', async () => {
    const fake = await iterate('ott-flow', 3)
    expect(fake.sent.map((s) => s.tag)).toEqual(new Array(3).fill([JOURNEY_STEPS.ott, JOURNEY_STEPS.validate, JOURNEY_STEPS.validateSpent]).flat())
    expect(fake.sent.every((s) => s.group === 'ott-flow')).toBe(true)
    expect(fake.sent.map((s) => s.status)).toEqual(new Array(3).fill([200, 200, 401]).flat())
    expect(tally(fake, JOURNEY_CHECKS.ottValid)).toEqual({ passes: 3, failures: 0 })
    expect(tally(fake, JOURNEY_CHECKS.spentRefused)).toEqual({ passes: 3, failures: 0 })
    const forgetful = await iterate('ott-flow', 3, {}, true)
    expect(tally(forgetful, JOURNEY_CHECKS.spentRefused)).toEqual({ passes: 0, failures: 3 })
  })
})
