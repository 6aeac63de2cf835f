// Test-only cost knobs (INJECT_CPU_US, INJECT_DELAY_MS, INJECT_DELAY_RATIO), off by default. The
// harness's gate is validated with them: a known CPU cost per request, or a delay on a share of
// requests (a tail-only change). Registered only when set, so they cost nothing otherwise.
import type { FastifyRequest } from 'fastify'

export interface InjectOptions {
  cpuUs: number
  delayMs: number
  delayRatio: number
}

/**
 * Spin until this process has used `us` microseconds of CPU. The spin runs on the high-resolution
 * clock (cheap to read) and only checks CPU time (getrusage, a syscall) when the wall-clock target
 * is reached, spinning again for any shortfall: a preempted spin on a busy machine still costs the
 * full amount, and a small cost is not inflated by the syscall.
 */
export function burnCpuUs(us: number): void {
  const start = process.cpuUsage()
  let remainingUs = us
  for (let round = 0; round < 1000 && remainingUs > 0; round++) {
    const end = process.hrtime.bigint() + BigInt(Math.ceil(remainingUs * 1000))
    while (process.hrtime.bigint() < end) {
      // busy
    }
    const d = process.cpuUsage(start)
    remainingUs = us - (d.user + d.system)
  }
}

export function injectCost(options: InjectOptions) {
  return async function inject(req: FastifyRequest): Promise<void> {
    // Ops endpoints stay honest: the harness reads /metrics between trials.
    if (req.url.includes('/metrics') || req.url.includes('/debug/') || req.url.includes('/health/')) return
    if (options.cpuUs > 0) burnCpuUs(options.cpuUs)
    if (options.delayMs > 0 && options.delayRatio > 0 && Math.random() < options.delayRatio) {
      await new Promise((r) => setTimeout(r, options.delayMs))
    }
  }
}
