import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ClosedDriver } from '../../harness/engine/drivers/closed.ts'
import { canPin, descendantsOf, probe, startTarget, watchLiveness } from '../../harness/engine/target-process.ts'
import type { TargetProcess } from '../../harness/engine/target-process.ts'
import { referenceTarget } from '../../scenarios/reference-target.ts'

const FIXTURE = { script: 'test/fixtures/tiny-target.mjs', nodeArgs: [] as string[], readyTimeoutMs: 10_000, readinessPath: '/auth-server/v1/oauth/' }

function crashed(target: TargetProcess): Promise<Error> {
  return new Promise((resolve) => target.once('crash', resolve))
}

describe('TargetProcess (fixture)', () => {
  it('starts on a free port with the preset, pins it when it can, waits for readiness and stops it', async () => {
    const target = await startTarget({ ...FIXTURE, port: 0, env: { PRESET: 'phase1', EXTRA: '1' } })
    try {
      expect(target.port).toBeGreaterThan(0)
      expect(target.url).toBe(`http://127.0.0.1:${target.port}`)
      expect(target.pinnedCpus).toBe(canPin() ? '0' : null)
      expect(await probe(`${target.url}/auth-server/v1/oauth/`, 1000)).toBe(200)
      expect(target.stderrTail()).toContain('preset=phase1')
    } finally {
      const exit = await target.stop()
      expect(exit.expected).toBe(true)
    }
    expect(target.running).toBe(false)
    expect(target.crashSignal.aborted).toBe(false)
  })

  // Start-up runs on every core (two targets of an ab pair start together); once it answers, every
  // thread of the target, not only its main one, is on the target core.
  // …and every process: a clustered preset (instances > 1) forks its workers during start-up.
  it.runIf(canPin() && process.platform === 'linux')('pins every thread of the target and of its child processes once it answers', async () => {
    const target = await startTarget({ ...FIXTURE, env: { FORK_CHILD: '1' } })
    try {
      const pid = target.pid as number
      const children = await descendantsOf(pid)
      expect(children.length).toBe(1)
      for (const p of [pid, ...children]) {
        const threads = readdirSync(`/proc/${p}/task`)
        expect(threads.length).toBeGreaterThan(1)
        for (const tid of threads) {
          const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${p}/task/${tid}/status`, 'utf8'))?.[1]
          expect(allowed, `process ${p} thread ${tid}`).toBe('0')
        }
      }
    } finally {
      await target.stop()
    }
  })

  it('reports a target that dies during start-up, with its stderr', async () => {
    await expect(startTarget({ ...FIXTURE, script: 'test/fixtures/does-not-exist.mjs' })).rejects.toMatchObject({
      code: 'AUTHBENCH_ERR_TARGET_START',
      message: expect.stringContaining('does-not-exist')
    })
  })

  it('detects a crash mid-run and aborts its crash signal', async () => {
    const target = await startTarget(FIXTURE)
    const crash = crashed(target)
    await probe(`${target.url}/crash`, 1000).catch(() => 0)
    const error = await crash
    expect(error).toMatchObject({ code: 'AUTHBENCH_ERR_TARGET_CRASHED', processExitCode: 3 })
    expect(target.crashSignal.aborted).toBe(true)
    expect(target.crashSignal.reason).toBe(error)
    expect((await target.stop()).expected).toBe(false)
  })

  it('the liveness watchdog fires when the target stops answering', async () => {
    const target = await startTarget(FIXTURE)
    const watchdog = watchLiveness(target.url, { path: '/auth-server/v1/oauth/', intervalMs: 250, failures: 3, probeTimeoutMs: 250 })
    try {
      const started = performance.now()
      process.kill(target.pid as number, 'SIGSTOP')
      await new Promise<void>((resolve) => watchdog.signal.addEventListener('abort', () => resolve(), { once: true }))
      expect(performance.now() - started).toBeLessThan(3000)
      expect(watchdog.signal.reason).toMatchObject({ code: 'AUTHBENCH_ERR_TARGET_UNRESPONSIVE' })
    } finally {
      watchdog.stop()
      process.kill(target.pid as number, 'SIGCONT')
      await target.stop()
    }
  })
})

describe.runIf(existsSync(new URL('../../target/server.ts', import.meta.url)))('TargetProcess (the reference target)', () => {
  it('a target killed mid-trial stops the driver within seconds', { timeout: 40_000 }, async () => {
    const target = await startTarget({ ...referenceTarget(), port: 0, readyTimeoutMs: 30_000 })
    try {
      const driver = new ClosedDriver()
      const started = performance.now()
      let killedAtMs = 0
      setTimeout(() => {
        killedAtMs = performance.now()
        process.kill(target.pid as number, 'SIGKILL')
      }, 1500)
      const outcome = await driver.run({
        url: target.url,
        load: { model: 'closed', durationMs: 30_000, warmupMs: 0, connections: 4, pipelining: 1, rateRps: null, maxRequests: null, timeoutMs: 2000 },
        nextRequest: () => ({ method: 'GET', path: '/auth-server/v1/oauth/', expectedStatuses: [200] }),
        signal: target.crashSignal
      })
      const stoppedAfterKillMs = performance.now() - killedAtMs
      expect(outcome.aborted).toBe(true)
      expect(outcome.successes).toBeGreaterThan(0)
      expect(stoppedAfterKillMs).toBeLessThan(3000)
      expect(performance.now() - started).toBeLessThan(10_000)
      expect(target.crashSignal.reason).toMatchObject({ code: 'AUTHBENCH_ERR_TARGET_CRASHED', exitSignal: 'SIGKILL' })
    } finally {
      await target.stop()
    }
  })
})
