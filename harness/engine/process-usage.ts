// CPU time and resident memory of a target's whole process tree (the process, its cluster
// workers, anything it forked), read from /proc, so any target gets CPU µs per request without a
// metrics endpoint of its own. Read by hand: pidusage and pidtree spawn `ps` or read the same
// files one process at a time, and we need the tree summed at two instants around a trial.
//
// Total CPU comes from every thread's /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU),
// since /proc/<pid>/stat counts in clock ticks (10 ms here), too coarse for a 500 ms slot; the
// user/system split is stat's, applied to that total. Linux only: elsewhere the reading is null.
import { execFileSync } from 'node:child_process'
import { readFile, readdir } from 'node:fs/promises'
import { descendantsOf } from './target-process.ts'

export interface ProcessUsage {
  /** When it was read (performance.now() ms). */
  atMs: number
  /** CPU time of every thread of every process in the tree, µs. */
  cpuUs: number
  /** Share of that time spent in user mode, from the processes' clock-tick counters (0..1). */
  userShare: number
  /** Resident set size summed over the tree, bytes. */
  rssBytes: number
  /** Processes read (the target and its descendants). */
  processes: number
}

let pageBytes: number | null = null
function pageSize(): number {
  if (pageBytes === null) {
    try {
      pageBytes = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096
    } catch {
      pageBytes = 4096
    }
  }
  return pageBytes
}

async function readNumberFields(file: string): Promise<string[] | null> {
  const text = await readFile(file, 'utf8').catch(() => null)
  if (text === null) return null
  // "pid (comm) state …": comm may hold spaces or parentheses, so split after the last ')'.
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(/\s+/)
}

async function threadsCpuNs(pid: number): Promise<number | null> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => null)
  if (tids === null) return null
  let ns = 0
  let read = 0
  for (const tid of tids) {
    const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => null)
    if (text === null) continue
    ns += Number(text.split(' ')[0]) || 0
    read++
  }
  return read > 0 ? ns : null
}

/** The tree rooted at `pid`, now; null when /proc cannot tell (not Linux, or the process is gone). */
export async function readProcessUsage(pid: number): Promise<ProcessUsage | null> {
  const pids = [pid, ...(await descendantsOf(pid))]
  let cpuNs = 0
  let userTicks = 0
  let systemTicks = 0
  let rssPages = 0
  let processes = 0
  for (const p of pids) {
    const stat = await readNumberFields(`/proc/${p}/stat`)
    if (stat === null) continue
    // Without schedstat (a kernel built without it), clock ticks it is: 100 per second on Linux.
    const ns = (await threadsCpuNs(p)) ?? ((Number(stat[11]) || 0) + (Number(stat[12]) || 0)) * 1e7
    // After the comm: state(0) ppid(1) … utime(11) stime(12) … rss(21).
    userTicks += Number(stat[11]) || 0
    systemTicks += Number(stat[12]) || 0
    rssPages += Number(stat[21]) || 0
    cpuNs += ns
    processes++
  }
  if (processes === 0) return null
  const ticks = userTicks + systemTicks
  return { atMs: performance.now(), cpuUs: Math.round(cpuNs / 1000), userShare: ticks > 0 ? userTicks / ticks : 1, rssBytes: rssPages * pageSize(), processes }
}
