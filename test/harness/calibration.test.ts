// The calibration as a yardstick between machines: the same code measured on a machine half as
// fast (every throughput and the calibration halved, CPU per request doubled) must compare as
// "no change" once normalised; and compare says so when the yardstick cannot be trusted (its
// slices were unsteady, or it moved otherwise than the health scenario, which drives the same GET /).
// Where it runs: on a path the target names (by default its readiness path), counting only 2xx
// answers, after the scenarios' setups have succeeded; a setup that throws is reported at once,
// naming the file and line it threw from.
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineScenario } from '../../harness/api.ts'
import { loadConfig } from '../../harness/config.ts'
import { createClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { Engine, userCodeLocation } from '../../harness/engine/engine.ts'
import type { EnginePlan } from '../../harness/engine/engine.ts'
import { REPO_ROOT } from '../../harness/engine/target-process.ts'
import { commandPlanDefaults } from '../../harness/engine/wiring.ts'
import { testEnginePlan } from './helpers/engine-plan.ts'
import { checkCalibration } from '../../harness/stats/compare.ts'
import { compareResults } from '../../harness/reporters/headline.ts'
import type { RunResult } from '../../harness/types.ts'
import { assertResult } from '../../harness/result-io.ts'

const committed = assertResult(JSON.parse(readFileSync(new URL('../../reports/baseline.json', import.meta.url), 'utf8')), 'reports/baseline.json')
// The committed baseline is a real run and may hold an invalid trial, which the gate never judges;
// the property here is about the trials it does judge.
// Its calibration's own steadiness is checked where it is recorded (the run warns); here a steady
// one is assumed, so that what is tested is the normalisation.
const base: RunResult = {
  ...committed,
  ...(committed.calibration ? { calibration: { ...committed.calibration, spread: 0.02 } } : {}),
  trials: committed.trials.filter((t) => t.validity.state === 'valid')
}

/** The same run on a machine whose speed is `speed` × this one's, the calibration scaled by `calibrationSpeed`. */
function onOtherMachine(speed: number, calibrationSpeed = speed, spread = 0.02): RunResult {
  return {
    ...base,
    environment: { ...base.environment, cpuModel: 'Another CPU @ 1.0GHz', hostname: 'other' },
    calibration: {
      throughputRps: (base.calibration?.throughputRps ?? 0) * calibrationSpeed,
      cpuUsPerRequest: (base.calibration?.cpuUsPerRequest ?? 0) / calibrationSpeed,
      samplesRps: [1, 1, 1].map(() => (base.calibration?.throughputRps ?? 0) * calibrationSpeed),
      spread
    },
    trials: base.trials.map((t) => ({
      ...t,
      throughputRps: t.throughputRps * speed,
      // A journey's steps and iterations run at the machine's speed too.
      ...(t.journey === undefined
        ? {}
        : {
            journey: {
              ...t.journey,
              iterations: { ...t.journey.iterations, throughputPerS: t.journey.iterations.throughputPerS * speed },
              steps: Object.fromEntries(Object.entries(t.journey.steps).map(([k, v]) => [k, { ...v, throughputRps: v.throughputRps * speed }]))
            }
          }),
      ...(t.server ? { server: { ...t.server, cpuUsPerRequest: t.server.cpuUsPerRequest === null ? null : t.server.cpuUsPerRequest / speed } } : {})
    }))
  }
}

const verdictsOf = (c: ReturnType<typeof compareResults>, metric: string): string[] => c.scenarios.map((s) => s.metrics.find((m) => m.metric === metric)?.verdict ?? 'missing')

describe('calibration', () => {
  it('the baseline has a calibration to normalise by', () => {
    expect(base.calibration?.throughputRps).toBeGreaterThan(0)
  })

  it('the same code on a machine half as fast: normalised throughput and CPU µs/req change by 0, never a regression, and no warning', () => {
    const c = compareResults(base, onOtherMachine(0.5))
    expect(c.environment.normalisation).not.toBeNull()
    for (const metric of ['throughputRps', 'cpuUsPerRequest']) {
      // CPU µs/req is the whole trial's: a journey's step series carries none.
      for (const s of c.scenarios.filter((x) => metric === 'throughputRps' || x.part === undefined)) {
        const m = s.metrics.find((x) => x.metric === metric)
        expect(m?.normalised, `${s.scenario} ${metric}`).toBe(true)
        expect(Math.abs(m?.change ?? 1), `${s.scenario} ${metric}`).toBeLessThan(1e-9)
      }
      // With the baseline's own trial-to-trial noise on both sides, "no change" or "inconclusive".
      expect(
        verdictsOf(c, metric).every((v) => v === 'no-change' || v === 'inconclusive' || (v === 'missing' && metric === 'cpuUsPerRequest')),
        verdictsOf(c, metric).join()
      ).toBe(true)
    }
    expect(checkCalibration(base, onOtherMachine(0.5))).toEqual([])
  })

  it('a calibration that moved 7× where health moved 4.5× (the cold reading the issue found) is called out', () => {
    const other = onOtherMachine(1 / 4.5, 1 / 7)
    const notes = checkCalibration(base, other)
    expect(notes.join('\n')).toMatch(/calibration moved ×0\.14 .* health scenario ×0\.22: normalised throughput may be off by \+56%/)
    expect(compareResults(base, other).notes.join('\n')).toContain('may be off by')
  })

  it('an unsteady calibration is called out', () => {
    expect(checkCalibration(base, onOtherMachine(0.5, 0.5, 0.3)).join('\n')).toMatch(/current calibration was unsteady \(slices ±15%\)/)
  })
})

// ---------------------------------------------------------------------------------------------

/** A service with nothing at / (404), 200 at /health and /ok; counts the requests to each path. */
let service: { url: string; hits: Map<string, number>; close: () => Promise<void> }
beforeAll(async () => {
  const hits = new Map<string, number>()
  const server = createServer((req, res) => {
    const p = req.url ?? '/'
    hits.set(p, (hits.get(p) ?? 0) + 1)
    res.writeHead(p === '/health' || p === '/ok' ? 200 : 404).end(p === '/health' || p === '/ok' ? 'ok' : 'not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  service = {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
})
afterAll(async () => {
  await service.close()
})

const okRequest = defineScenario({ name: 'ok', request: { method: 'GET', path: '/ok', expectedStatuses: [200] } })

function calibratedPlan(target: Parameters<typeof commandPlanDefaults>[0]): EnginePlan {
  const load = { model: 'closed' as const, durationMs: 300, warmupMs: 100, warmupMaxMs: 100, connections: 2, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2_000 }
  return { ...testEnginePlan('calibration-path', [{ scenario: okRequest, params: {}, load }]), ...commandPlanDefaults(target), calibration: { durationMs: 1_000, connections: 2 } }
}

async function runOn(plan: EnginePlan): Promise<{ result: Awaited<ReturnType<Engine['run']>>; warnings: string[]; stages: string[] }> {
  const engine = new Engine(plan, { target: { url: service.url }, createDriver: () => createClosedDriver(), metrics: null, fetchTargetConfig: async () => null })
  const warnings: string[] = []
  const stages: string[] = []
  engine.on('warning', (w) => warnings.push(w.message))
  engine.on('stage', (s) => stages.push(s.stage))
  service.hits.clear()
  return { result: await engine.run(), warnings, stages }
}

describe('where the calibration runs', () => {
  it("GETs the target's readiness path by default, after the scenario's setup, never /", async () => {
    const { result, warnings, stages } = await runOn(calibratedPlan({ readiness: { path: '/health' } }))
    expect(warnings).toEqual([])
    expect(result.calibration?.throughputRps).toBeGreaterThan(0)
    expect(service.hits.get('/') ?? 0).toBe(0)
    expect(service.hits.get('/health') ?? 0).toBeGreaterThan(100)
    expect(stages.slice(0, 3)).toEqual(['setup', 'calibration', 'warmup'])
  }, 30_000)

  it("GETs the target's calibration.path when it names one", async () => {
    const { result } = await runOn(calibratedPlan({ readiness: { path: '/health' }, calibration: { path: '/ok' } }))
    expect(result.calibration?.throughputRps).toBeGreaterThan(0)
    expect(service.hits.get('/ok') ?? 0).toBeGreaterThan(100)
    // /health only gets the liveness watchdog's probe, once a second.
    expect(service.hits.get('/health') ?? 0).toBeLessThan(20)
  }, 30_000)

  it('counts no answer other than 2xx: a path answering 404 gets no calibration, and a warning naming it', async () => {
    const { result, warnings } = await runOn(calibratedPlan({ readiness: { path: '/health' }, calibration: { path: '/' } }))
    expect(result.calibration).toBeNull()
    expect(warnings.join('\n')).toMatch(/calibration skipped: GET \/ answered \d+× status 404 of \d+ requests, not 2xx/)
    // The run itself goes on.
    expect(result.trials[0]?.validity).toEqual({ state: 'valid' })
  }, 30_000)

  it('a config may name the calibration path; it must start with /', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'authbench-calibration-config-'))
    try {
      const write = (p: string): string => {
        const file = path.join(dir, `c${p.length}.json`)
        writeFileSync(file, JSON.stringify({ targets: [{ name: 'svc', start: { command: 'node' }, readiness: { path: '/health' }, calibration: { path: p } }] }))
        return file
      }
      const good = await loadConfig({ cwd: dir, configPath: write('/ok') })
      expect(good.targets[0]?.calibration).toEqual({ path: '/ok' })
      await expect(loadConfig({ cwd: dir, configPath: write('ok') })).rejects.toThrow(/targets\[0\]\.calibration\.path: must start with \//)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a setup that throws', () => {
  const temp = mkdtempSync(path.join(tmpdir(), 'authbench-setup-throws-'))
  afterAll(() => rmSync(temp, { recursive: true, force: true }))

  it('is reported before any calibration, within seconds, naming its file and line (exit 2)', () => {
    mkdirSync(path.join(temp, 'node_modules'))
    symlinkSync(REPO_ROOT, path.join(temp, 'node_modules', 'authbench'), 'dir')
    writeFileSync(path.join(temp, 'package.json'), JSON.stringify({ name: 'throws', private: true, type: 'module' }))
    writeFileSync(path.join(temp, 'server.mjs'), readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'user-service', 'server.mjs')))
    writeFileSync(
      path.join(temp, 'authbench.config.ts'),
      "import { defineConfig } from 'authbench'\nexport default defineConfig({\n  targets: [{ name: 'svc', start: { command: 'node', args: ['server.mjs'] }, readiness: { path: '/health' } }],\n  scenarios: ['./broken.scenario.ts'],\n  load: { durationMs: 300, warmupMs: 0, trials: 1 }\n})\n"
    )
    writeFileSync(
      path.join(temp, 'broken.scenario.ts'),
      "import { defineScenario } from 'authbench'\n\nexport default defineScenario({\n  name: 'broken',\n  setup: async (ctx) => {\n    const n: number = ctx.concurrency\n    throw new Error(`seeding refused (${n})`)\n  }\n})\n"
    )
    const started = Date.now()
    // With the calibration on (the default): it must not run before the setup.
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'harness', 'bin', 'authbench.js'), 'run', '--out', 'out'], {
      cwd: temp,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, CI: 'true' }
    })
    const elapsedMs = Date.now() - started
    expect(r.status, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/scenario "broken" setup failed: seeding refused \(\d+\) \(at broken\.scenario\.ts:7\)/)
    expect(r.stderr).toContain('AUTHBENCH_ERR_SETUP_FAILED')
    expect(r.stderr).not.toMatch(/calibration:/)
    // The calibration alone takes 7 s (2 s of warm-up, then at least five 1 s slices).
    expect(elapsedMs).toBeLessThan(5_000)
  }, 60_000)

  it("names the first frame in the user's files, not the harness's or a package's", () => {
    const err = new Error('x')
    err.stack = [
      'Error: x',
      '    at helper (file:///work/app/node_modules/lib/index.js:3:9)',
      `    at setup (file://${path.join('/work/app', 'scenarios', 'items.ts')}?tsx-namespace=1:12:5)`,
      `    at Engine.prepare (${path.join(REPO_ROOT, 'harness', 'engine', 'engine.ts')}:400:7)`
    ].join('\n')
    expect(userCodeLocation(err, '/work/app')).toBe('scenarios/items.ts:12')
    expect(userCodeLocation(err, '/elsewhere')).toBe('/work/app/scenarios/items.ts:12')
    expect(userCodeLocation('a string', '/work/app')).toBeNull()
  })
})
