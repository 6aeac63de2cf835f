// The k6 scripts share the catalog with the harness scenarios, survive k6's own TypeScript
// handling, and send what the scenarios send. k6 is not installed here, so each script is
// type-stripped file by file with esbuild exactly as k6's compiler does (loader ts, target
// esnext, no bundling) and run in Node against a stand-in for k6's modules.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { CATALOG, CONTRACT, K6_DIR, K6_MODULES, buildK6Tree, stripLikeK6 } from '../helpers/k6-tree.ts'
import { DEFAULT_COMPARE_SETTINGS } from '../../harness/stats/verdict.ts'
import { BENCH_CLIENT, DEFAULT_MIX, ENDPOINTS, credentialsBody } from '../../scenarios/catalog.ts'
import { healthRequest } from '../../scenarios/health.ts'
import { ottIssueRequest, ottRedeemRequest } from '../../scenarios/ott.ts'
import { revokeRequest } from '../../scenarios/revoke.ts'
import { tokenRequest } from '../../scenarios/token.ts'
import { validateRequestFactory } from '../../scenarios/validate.ts'
import { MEASURED_SUBMETRICS } from '../../harness/k6-contract.ts'
import { K6_SCENARIOS } from '../../scenarios/k6/scripts.ts'
import * as k6Requests from '../../scenarios/k6/requests.ts'
import { GATE_MARGINS, gateThresholds } from '../../scenarios/k6/thresholds.ts'

const importSpecifiers = (code: string): string[] => [...code.matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map((m) => m[1] as string)

describe('k6 scripts share one source of truth', () => {
  it('there is one script per harness scenario', () => {
    for (const name of K6_SCENARIOS) expect(readdirSync(K6_DIR)).toContain(`${name}.ts`)
  })

  it('send exactly the requests the harness scenarios send (built from the catalog)', () => {
    const same = (a: object, b: object): void => {
      const pickSpec = (s: Record<string, unknown>): Record<string, unknown> => ({
        method: s.method,
        path: s.path,
        headers: s.headers ?? {},
        body: s.body ?? null,
        expected: [...(s.expectedStatuses as number[])],
        tag: s.tag
      })
      expect(pickSpec(a as Record<string, unknown>)).toEqual(pickSpec(b as Record<string, unknown>))
    }
    same(k6Requests.HEALTH_REQUEST, healthRequest())
    same(k6Requests.TOKEN_REQUEST, tokenRequest())
    same(k6Requests.OTT_ISSUE_REQUEST, ottIssueRequest())
    same(k6Requests.ottRedeemRequest('jwt-1'), ottRedeemRequest('jwt-1'))
    same(k6Requests.validateRequest('jwt-2'), validateRequestFactory(['jwt-2'], 0)())
    same(k6Requests.revokeRequest('jwt-3'), revokeRequest('jwt-3'))
  })

  it('thresholds use the gate’s margins (verdict.ts cannot be imported by k6, so they are checked here)', () => {
    expect(GATE_MARGINS).toEqual(DEFAULT_COMPARE_SETTINGS.margins)
    const t = gateThresholds({ p95Us: 2500, p99Us: 6000, errorRate: 0 })
    expect(t[MEASURED_SUBMETRICS.duration]).toEqual(['p(95)<=2.700', 'p(99)<=6.600'])
    expect(t[MEASURED_SUBMETRICS.checks]).toEqual(['rate>=0.998000'])
    expect(gateThresholds()[MEASURED_SUBMETRICS.duration]).toEqual(['max>=0'])
  })

  it('import only k6 modules and relative .ts files k6 can resolve (no Node, no npm)', async () => {
    const files = [
      ...readdirSync(K6_DIR)
        .filter((f) => f.endsWith('.ts'))
        .map((f) => path.join(K6_DIR, f)),
      CATALOG,
      CONTRACT
    ]
    for (const file of files) {
      for (const spec of importSpecifiers(await stripLikeK6(file))) {
        if (K6_MODULES.includes(spec)) continue
        expect(spec, `${path.basename(file)} imports ${spec}`).toMatch(/^\.\.?\/[\w./-]+\.ts$/)
        expect(readdirSync(path.dirname(path.resolve(path.dirname(file), spec)))).toContain(path.basename(spec))
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Running the stripped scripts against a stand-in for k6

interface FakeResponse {
  status: number
  body: string
  error_code: number
  json: (sel?: string) => unknown
}
interface Sent {
  method: string
  url: string
  body: string | null
  headers: Record<string, string>
  tag: string | undefined
}
interface FakeK6 {
  sent: Sent[]
  checks: Array<{ name: string; ok: boolean }>
  metrics: Record<string, number[]>
  iteration: number
  vu: number
  request: (method: string, url: string, body: string | null, params?: { headers?: Record<string, string>; tags?: Record<string, string> }) => FakeResponse
}

const FAKE_MODULES: Record<string, string> = {
  k6: `const s = globalThis.__fakeK6
export function check(v, sets) { let all = true; for (const [name, fn] of Object.entries(sets)) { const ok = Boolean(fn(v)); s.checks.push({ name, ok }); all &&= ok } return all }
export function sleep() {}
export default { check, sleep }`,
  'k6/http': `const s = globalThis.__fakeK6
const request = (m, u, b, p) => s.request(m, u, b, p)
const batch = (reqs) => reqs.map((r) => s.request(r.method, r.url, r.body ?? null, r.params))
export default { request, batch }`,
  'k6/metrics': `const s = globalThis.__fakeK6
class M { constructor(name) { this.name = name } add(v) { (s.metrics[this.name] ??= []).push(Number(v)) } }
export class Counter extends M {}
export class Gauge extends M {}
export class Rate extends M {}
export class Trend extends M {}`,
  'k6/execution': `const s = globalThis.__fakeK6
export default { scenario: { get iterationInTest() { return s.iteration } }, vu: { get idInTest() { return s.vu } } }`
}

let tokenCounter = 0
function freshFake(): FakeK6 {
  const fake: FakeK6 = {
    sent: [],
    checks: [],
    metrics: {},
    iteration: 0,
    vu: 1,
    request(method, url, body, params) {
      fake.sent.push({ method, url, body, headers: params?.headers ?? {}, tag: params?.tags?.name })
      const p = new URL(url).pathname
      const text =
        p === ENDPOINTS.token.path || p === ENDPOINTS.ott.path
          ? JSON.stringify({ access_token: `jwt-${++tokenCounter}`, token_type: 'Bearer' })
          : p === ENDPOINTS.health.path
            ? 'ok'
            : '{}'
      return { status: 200, body: text, error_code: 0, json: (sel?: string) => (sel === undefined ? JSON.parse(text) : (JSON.parse(text) as Record<string, unknown>)[sel]) }
    }
  }
  return fake
}

interface Script {
  options: { scenarios: Record<string, Record<string, unknown>>; thresholds: Record<string, string[]>; summaryTrendStats: string[] }
  setup?: () => unknown
  default: (data: unknown) => void
}

let build = ''
beforeAll(async () => {
  // Stripped once; each load copies the tree so every script gets fresh module state (as a VU does).
  build = await buildK6Tree('authbench-k6-strip-', FAKE_MODULES)
})

let loads = 0
async function load(name: string, env: Record<string, string>, fake: FakeK6 = freshFake()): Promise<{ script: Script; fake: FakeK6 }> {
  const dir = path.join(build, `load-${loads++}`)
  mkdirSync(dir)
  for (const f of readdirSync(build).filter((x) => x.endsWith('.mjs'))) writeFileSync(path.join(dir, f), readFileSync(path.join(build, f)))
  const g = globalThis as unknown as { __fakeK6: FakeK6; __ENV: Record<string, string> }
  g.__fakeK6 = fake
  g.__ENV = env
  const script = (await import(/* @vite-ignore */ pathToFileURL(path.join(dir, `${name}.mjs`)).href)) as Script
  return { script, fake }
}

function iterate(script: Script, fake: FakeK6, data: unknown, n: number, vus = 4): void {
  for (let i = 0; i < n; i++) {
    fake.iteration = i
    fake.vu = (i % vus) + 1
    script.default(data)
  }
}

const OPEN = { BASE_URL: 'http://127.0.0.1:3999', MODEL: 'open', RATE: '50', VUS: '4', DURATION: '2s' }

describe('k6 scripts run (type-stripped as k6 does, against a stand-in k6)', () => {
  it('each script has both load models, selected by MODEL', async () => {
    for (const name of K6_SCENARIOS) {
      const open = (await load(name, OPEN)).script.options
      expect(open.scenarios[name]).toMatchObject({
        executor: 'constant-arrival-rate',
        rate: 50,
        timeUnit: '1s',
        duration: '2s',
        preAllocatedVUs: 4,
        tags: { authbench: 'measure' }
      })
      expect(Object.keys(open.thresholds)).toEqual(expect.arrayContaining(Object.values(MEASURED_SUBMETRICS)))
      expect(open.summaryTrendStats).toEqual(expect.arrayContaining(['p(99)', 'p(99.9)']))
      const closed = (await load(name, { MODEL: 'closed', VUS: '8', DURATION: '3s' })).script.options
      expect(closed.scenarios[name]).toMatchObject({ executor: 'constant-vus', vus: 8, duration: '3s' })
    }
  })

  it('refuses a bad MODEL with a coded error', async () => {
    await expect(load('health', { MODEL: 'sideways' })).rejects.toThrow(/AUTHBENCH_ERR_BAD_OPTION: MODEL/)
  })

  it('health and token send the catalog requests and check their statuses', async () => {
    for (const [name, path_] of [
      ['health', ENDPOINTS.health.path],
      ['token', ENDPOINTS.token.path]
    ] as const) {
      const { script, fake } = await load(name, OPEN)
      script.setup?.()
      iterate(script, fake, undefined, 20)
      expect(fake.sent.map((s) => s.url)).toEqual(new Array(20).fill(`http://127.0.0.1:3999${path_}`))
      expect(fake.checks.every((c) => c.ok)).toBe(true)
      expect(fake.metrics.authbench_clock_ms).toHaveLength(40)
    }
  })

  it('validate issues its pool in setup() through the public API and validates round-robin', async () => {
    const { script, fake } = await load('validate', { ...OPEN, POOL_SIZE: '10' })
    const data = script.setup?.() as { tokens: string[] }
    expect(data.tokens).toHaveLength(10)
    expect(fake.sent.every((s) => s.url.endsWith(ENDPOINTS.token.path) && s.body === credentialsBody(BENCH_CLIENT))).toBe(true)
    expect(fake.metrics.authbench_seeded).toEqual([10])
    fake.sent.length = 0
    iterate(script, fake, data, 25)
    expect(new Set(fake.sent.map((s) => s.headers.authorization)).size).toBe(10)
    expect(fake.sent.every((s) => s.url.endsWith(ENDPOINTS.validate.path))).toBe(true)
  })

  it('revoke spends a distinct seeded token per request and counts exhaustion', async () => {
    const { script, fake } = await load('revoke', OPEN)
    const data = script.setup?.() as { tokens: string[] }
    // 50 req/s × 2 s plus 10%.
    expect(data.tokens).toHaveLength(110)
    fake.sent.length = 0
    iterate(script, fake, data, 112)
    expect(new Set(fake.sent.map((s) => s.headers.authorization)).size).toBe(110)
    expect(fake.metrics.authbench_pool_exhausted).toEqual([1, 1])
  })

  it('ott issues one-time tokens and redeems each exactly once', async () => {
    const { script, fake } = await load('ott', OPEN)
    script.setup?.()
    iterate(script, fake, undefined, 10)
    expect(fake.sent.map((s) => s.tag)).toEqual([
      'ott-issue',
      'ott-redeem',
      'ott-issue',
      'ott-redeem',
      'ott-issue',
      'ott-redeem',
      'ott-issue',
      'ott-redeem',
      'ott-issue',
      'ott-redeem'
    ])
    const redeemed = fake.sent.filter((s) => s.tag === 'ott-redeem').map((s) => s.headers.authorization)
    expect(new Set(redeemed).size).toBe(5)
  })

  it('mixed follows the catalog’s mix weights', async () => {
    // 1000 req/s for 4 s: the 4000 iterations below are what the open model would schedule.
    const env = { ...OPEN, RATE: '1000', DURATION: '4s', POOL_SIZE: '20' }
    const { script, fake } = await load('mixed', env)
    // One module instance per VU, as in k6: per-VU state (held OTT, revoke slice) must not be shared.
    const vus = [script, ...(await Promise.all([1, 2, 3].map(async () => (await load('mixed', env, fake)).script)))]
    const data = script.setup?.()
    fake.sent.length = 0
    const n = 4000
    for (let i = 0; i < n; i++) {
      fake.iteration = i
      fake.vu = (i % vus.length) + 1
      ;(vus[i % vus.length] as Script).default(data)
    }
    const share = (tags: string[]): number => fake.sent.filter((s) => tags.includes(s.tag ?? '')).length / n
    const total = Object.values(DEFAULT_MIX).reduce((a, b) => a + b, 0)
    expect(share(['validate'])).toBeCloseTo(DEFAULT_MIX.validate / total, 1)
    expect(share(['token'])).toBeCloseTo(DEFAULT_MIX.token / total, 1)
    expect(share(['ott-issue', 'ott-redeem'])).toBeCloseTo(DEFAULT_MIX.ott / total, 1)
    expect(share(['revoke'])).toBeCloseTo(DEFAULT_MIX.revoke / total, 1)
    const revoked = fake.sent.filter((s) => s.tag === 'revoke').map((s) => s.headers.authorization)
    expect(new Set(revoked).size).toBe(revoked.length)
    expect(fake.metrics.authbench_pool_exhausted).toBeUndefined()
  })
})
