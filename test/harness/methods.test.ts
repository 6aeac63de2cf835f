// Every HTTP method a scenario may use goes through both load drivers: GET, HEAD, POST, PUT,
// PATCH, DELETE and OPTIONS, with their bodies, judged by their own expected statuses. HEAD is the
// case a client gets wrong: its answer announces a length and carries no body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { OpenDriver } from '../../harness/engine/drivers/open.ts'
import { HTTP_METHODS, requestSpecProblem, defineScenario, type RequestSpec } from '../../harness/api.ts'
import type { DriverOutcome } from '../../harness/engine/drivers/types.ts'
import type { LoadSettings } from '../../harness/types.ts'
import { methodServer } from './helpers/servers.ts'

const SPECS: readonly RequestSpec[] = Object.freeze([
  { method: 'GET', path: '/items/1', expectedStatuses: [200] },
  { method: 'HEAD', path: '/items/1', expectedStatuses: [200] },
  { method: 'POST', path: '/items', headers: { 'content-type': 'application/json' }, body: '{"name":"new"}', expectedStatuses: [201] },
  { method: 'PUT', path: '/items/1', headers: { 'content-type': 'application/json' }, body: '{"name":"put"}', expectedStatuses: [200] },
  { method: 'PATCH', path: '/items/1', headers: { 'content-type': 'application/json' }, body: '{"name":"patched"}', expectedStatuses: [200] },
  { method: 'DELETE', path: '/items/1', expectedStatuses: [204] },
  { method: 'OPTIONS', path: '/items', expectedStatuses: [204] }
])

let server: Awaited<ReturnType<typeof methodServer>>
beforeAll(async () => {
  server = await methodServer()
})
afterAll(async () => {
  await server.close()
})

function roundRobin(): () => RequestSpec {
  let i = 0
  return () => SPECS[i++ % SPECS.length] as RequestSpec
}

function expectEveryMethod(outcome: DriverOutcome): void {
  expect(outcome.errors, JSON.stringify(outcome.errorsByKind)).toBe(0)
  expect(outcome.requests).toBeGreaterThan(SPECS.length * 5)
  expect(Object.keys(outcome.statusCounts).sort()).toEqual(['200', '201', '204'])
  for (const method of HTTP_METHODS) expect(server.byMethod[method], method).toBeGreaterThan(0)
  for (const method of ['POST', 'PUT', 'PATCH'] as const) expect(server.bodiesByMethod[method]?.[0]).toMatch(/^\{"name":/)
}

const load = (model: 'open' | 'closed'): LoadSettings => ({
  model,
  durationMs: 600,
  warmupMs: 0,
  connections: 2,
  pipelining: 1,
  rateRps: model === 'open' ? 400 : null,
  maxRequests: null,
  timeoutMs: 2_000
})

describe('every HTTP method', () => {
  it('through the open model: each answered as expected, HEAD without a body', async () => {
    for (const key of Object.keys(server.byMethod)) delete server.byMethod[key]
    expectEveryMethod(await new OpenDriver().run({ url: server.url, load: load('open'), nextRequest: roundRobin() }))
  })

  it('through the closed model', async () => {
    for (const key of Object.keys(server.byMethod)) delete server.byMethod[key]
    expectEveryMethod(await new ClosedDriver().run({ url: server.url, load: load('closed'), nextRequest: roundRobin() }))
  })

  it('a fixed HEAD request in the closed model (autocannon sends it prebuilt)', async () => {
    const head = Object.freeze({ method: 'HEAD', path: '/items/1', expectedStatuses: [200] }) as RequestSpec
    const outcome = await new ClosedDriver().run({ url: server.url, load: load('closed'), nextRequest: () => head, fixedRequest: head })
    expect(outcome.errors).toBe(0)
    expect(outcome.requests).toBeGreaterThan(20)
    expect(outcome.statusCounts).toEqual({ 200: outcome.requests })
  })

  it('a request with a key misspelt, an unknown method or a body on HEAD is refused when the scenario is defined', () => {
    expect(requestSpecProblem({ method: 'GET', path: '/', expectedStatus: [200] })).toMatch(/unknown key "expectedStatus"/)
    expect(requestSpecProblem({ method: 'FETCH', path: '/', expectedStatuses: [200] })).toMatch(/method "FETCH" is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS/)
    expect(requestSpecProblem({ method: 'HEAD', path: '/', body: 'x', expectedStatuses: [200] })).toMatch(/HEAD request has no body/)
    expect(requestSpecProblem({ method: 'GET', path: 'items', expectedStatuses: [200] })).toMatch(/path "items"/)
    for (const spec of SPECS) expect(requestSpecProblem(spec)).toBeNull()
    expect(() => defineScenario({ name: 'typo', request: { method: 'GET', path: '/', expectedStatus: [200] } as unknown as RequestSpec })).toThrow(
      /request: unknown key "expectedStatus"/
    )
  })
})
