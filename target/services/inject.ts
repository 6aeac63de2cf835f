// Test-only cost knobs (INJECT_CPU_US, INJECT_DELAY_MS, INJECT_DELAY_RATIO), off by default. The
// harness's gate is validated with them: a known CPU cost per request, or a delay on a share of
// requests (a tail-only change). Registered only when set, so they cost nothing otherwise.
import type { FastifyReply, FastifyRequest } from 'fastify'

export interface InjectOptions {
  cpuUs: number
  delayMs: number
  delayRatio: number
}

// Written by hand: no library injects a calibrated CPU cost, and the gate's accuracy figures
// depend on the cost being exactly the work asked for, with nothing else attached.
//
// The cost is a fixed number of iterations of an integer loop, calibrated once to `us` µs of CPU
// on this machine. An earlier version spun until process.cpuUsage() said the CPU was spent; under
// load getrusage(2) cost ~14 µs per call in this process (it walks every thread), so a "+4 µs"
// knob added ~20 µs. A fixed amount of work is also what a real regression is: more instructions
// per request, whose time then varies with the machine exactly as the rest of the request does.
let sink = 0

// The name is part of the knob's contract: a `--profile` report must show the injected cost under
// this one function, so the differential profile can be checked against a known truth. V8 inlines
// small functions into their callers, and Node's inspector profiles carry no inlined frames (the
// samples land in the caller: here split between the hook and burnCpuUs), so the loop is unrolled
// 128 times: its bytecode (~4.9 kB) is past the largest function V8 ever inlines
// (max_inlined_bytecode_size_absolute, 4,600 bytes; at 32 times, ~1.2 kB, it was still inlined
// into a hot caller now and then) and it always runs as its own frame. Calibration runs this same function, and each step
// is the same integer work as before, so the knob costs what it is calibrated to.
// The unrolled steps stay four to a line (the formatter would give each its own: 160 lines of one
// statement, which says nothing more to a reader).
// prettier-ignore
export function injectedCpuBurnLoop(iterations: number, seed: number): number {
  let x = seed | 1
  let i = 0
  for (; i + 128 <= iterations; i += 128) {
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
    x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0; x = (Math.imul(x, 1664525) + 1013904223) | 0
  }
  for (; i < iterations; i++) x = (Math.imul(x, 1664525) + 1013904223) | 0
  return x
}

function spin(iterations: number): number {
  return injectedCpuBurnLoop(iterations, sink)
}

let iterationsPerUs: number | null = null

/**
 * Iterations of the loop per µs of CPU: the fastest of five ~10 ms runs (the least disturbed one,
 * so a calibration during a noisy spell errs towards more work, not less).
 */
export function calibrateSpin(): number {
  sink ^= spin(200_000) // let the JIT optimise the loop first
  let best = 0
  let n = 1_000_000
  for (let run = 0; run < 5; run++) {
    const before = process.cpuUsage()
    sink ^= spin(n)
    const used = process.cpuUsage(before)
    const us = used.user + used.system
    if (us > 0) best = Math.max(best, n / us)
    // Aim each run at ~10 ms of CPU, whatever this machine's speed.
    if (best > 0) n = Math.max(100_000, Math.round(best * 10_000))
  }
  iterationsPerUs = best > 0 ? best : 1_000
  return iterationsPerUs
}

/** Burns about `us` µs of CPU: the calibrated number of loop iterations, no clock or syscall. */
export function burnCpuUs(us: number): void {
  if (us <= 0) return
  const rate = iterationsPerUs ?? calibrateSpin()
  sink ^= spin(Math.round(us * rate))
}

export function injectCost(options: InjectOptions) {
  // Calibrate at start-up, not on the first request.
  if (options.cpuUs > 0 && iterationsPerUs === null) calibrateSpin()
  const { cpuUs, delayMs } = options
  const delayRatio = delayMs > 0 ? options.delayRatio : 0
  // A callback hook, not an async one: an async hook's promise and microtask hop cost ~3-4 µs per
  // request under load here (measured with `ab` against a hook that did nothing: +5.3% CPU µs/req
  // on token; as a callback hook +0.5%). The knob must cost what it says and nothing else.
  return function inject(req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
    // Ops endpoints stay honest: the harness reads /metrics between trials.
    const url = req.url
    if (url.includes('/metrics') || url.includes('/debug/') || url.includes('/health/')) {
      done()
      return
    }
    if (cpuUs > 0) burnCpuUs(cpuUs)
    if (delayRatio > 0 && Math.random() < delayRatio) {
      setTimeout(done, delayMs)
      return
    }
    done()
  }
}
