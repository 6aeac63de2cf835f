// A noisy neighbour for gate-accuracy runs: a process that, in random bursts, burns CPU and
// thrashes the cache on the core it is pinned to (the target's), the way another tenant's job on a
// shared CI runner does. A quiet day cannot prove sensitivity on a noisy one; this makes the noise
// reproducible on any machine.
//
//   node --import tsx scripts/noisy-neighbour.ts [--duty 0.35] [--burst-ms 150] [--mib 16] [--seed 1]
//
// Bursts and gaps have exponentially distributed lengths (means --burst-ms and
// --burst-ms × (1 − duty) / duty), so the neighbour's share of the core moves at every time scale
// from a few ms to seconds, which is what the slot interleaving cannot cancel. During a burst it
// walks a buffer of --mib MiB (larger than the L2 and the VM's share of the L3) at a random
// cache-line stride, writing as it goes, so the target also loses its cached working set. It runs
// until it gets SIGTERM or its parent goes away.
import { parseArgs } from 'node:util'
import { createRng } from '../harness/stats/stats.ts'

const { values } = parseArgs({
  options: {
    duty: { type: 'string', default: '0.35' },
    'burst-ms': { type: 'string', default: '150' },
    mib: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' }
  }
})
const duty = Number(values.duty)
const burstMs = Number(values['burst-ms'])
const mib = Number(values.mib)
if (!(duty > 0 && duty < 1) || !(burstMs > 0) || !(mib >= 1 && mib <= 1024)) {
  process.stderr.write('noisy-neighbour: --duty must be in (0, 1), --burst-ms > 0, --mib from 1 to 1024\n')
  process.exit(2)
}
const rng = createRng(Number(values.seed) | 0)
const exponential = (mean: number): number => -mean * Math.log(1 - rng.float())
const buffer = new Uint8Array(mib * 1024 * 1024)
const LINE = 64
const lines = buffer.length / LINE
let cursor = 0
let checksum = 0

/** One burst: the event loop is held for its whole length (a CPU-bound tenant does not yield). */
function burst(lengthMs: number): void {
  const end = performance.now() + lengthMs
  // A stride that is odd in lines visits every line before repeating, in an order the
  // prefetcher cannot follow.
  const stride = (1 + 2 * rng.int(lines / 2)) * LINE
  while (performance.now() < end) {
    for (let i = 0; i < 4096; i++) {
      cursor = (cursor + stride) % buffer.length
      checksum = (checksum + (buffer[cursor] as number) + 1) & 0xff
      buffer[cursor] = checksum
    }
  }
}

function next(): void {
  burst(exponential(burstMs))
  setTimeout(next, exponential((burstMs * (1 - duty)) / duty))
}

process.on('SIGTERM', () => process.exit(0))
process.on('disconnect', () => process.exit(0))
setTimeout(next, exponential((burstMs * (1 - duty)) / duty))
process.stderr.write(`noisy-neighbour: duty ${duty}, bursts ~${burstMs} ms, ${mib} MiB, pid ${process.pid}\n`)
