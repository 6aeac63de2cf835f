// V8 CPU profiles (the DevTools protocol's Profiler.Profile, the `.cpuprofile` format that Chrome
// DevTools and speedscope open): cut to the measured windows, merged across processes and trials,
// and reduced to per-function self and total time and to an aggregated call tree.
//
// Written by hand: the format is small and documented (nodes with callFrame and children, samples
// with timeDeltas), and the harness needs operations no profile library offers: keeping only the
// samples inside a list of time windows and summing profiles of several processes.

export interface CallFrame {
  functionName: string
  scriptId: string
  url: string
  /** 0-based, as V8 reports it. */
  lineNumber: number
  columnNumber: number
}

export interface ProfileNode {
  id: number
  callFrame: CallFrame
  hitCount?: number
  children?: number[]
  positionTicks?: Array<{ line: number; ticks: number }>
}

export interface CpuProfile {
  nodes: ProfileNode[]
  /** µs, on the monotonic clock (the same clock as process.hrtime on Linux and macOS). */
  startTime: number
  endTime: number
  samples: number[]
  /** µs between consecutive samples; the first is relative to startTime. */
  timeDeltas: number[]
}

/** A time window on the monotonic clock, in µs. */
export interface WindowUs {
  startUs: number
  endUs: number
}

/** Frames that are not JavaScript functions: the thread waiting, native code, the collector. */
export const IDLE_FRAME = '(idle)'
export const ROOT_FRAME = '(root)'

/** Microseconds on the monotonic clock that V8's profiler uses. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

/**
 * Keeps only the samples inside `windows`, each weighted by the time until the next sample (capped
 * at its window's end, and at `maxWeightUs`), and closes the gaps: the result's duration is the
 * sampled time inside the windows, and it still opens in DevTools and speedscope. `relativeTo`
 * rewrites script URLs under that directory as relative paths, so that two arms built in different
 * worktrees name the same file alike.
 *
 * Why the cap: V8 samples on a wall clock (a signal to the thread every interval, handled when the
 * thread runs), so a thread descheduled between two samples (a shared core, the other arm's target,
 * the load generator woken by a write) would charge the whole gap to the frame it was in. Capped
 * at a little over the interval, a sample stands for time the thread ran: measured on two targets
 * side by side, uncapped `writev` read 39.7 against 10.3 µs/req between arms that wrote the same.
 */
export function sliceProfile(profile: CpuProfile, windows: readonly WindowUs[], relativeTo?: string, maxWeightUs = Number.POSITIVE_INFINITY): CpuProfile {
  const sorted = [...windows].sort((a, b) => a.startUs - b.startUs)
  const keptSamples: number[] = []
  const weights: number[] = []
  let t = profile.startTime
  const times: number[] = []
  for (const d of profile.timeDeltas) {
    t += d
    times.push(t)
  }
  let w = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i] as number
    while (w < sorted.length && (sorted[w] as WindowUs).endUs <= at) w++
    const win = sorted[w]
    if (win === undefined) break
    if (at < win.startUs) continue
    const next = i + 1 < times.length ? (times[i + 1] as number) : profile.endTime
    const weight = Math.min(maxWeightUs, Math.max(0, Math.min(next, win.endUs) - at))
    if (weight <= 0) continue
    keptSamples.push(profile.samples[i] as number)
    weights.push(weight)
  }
  const startTime = sorted[0]?.startUs ?? profile.startTime
  // timeDeltas[i] is the gap before sample i: the first sample sits at startTime, and each later
  // one after its predecessor's weight; the profile ends after the last sample's weight.
  const timeDeltas = keptSamples.map((_, i) => (i === 0 ? 0 : (weights[i - 1] as number)))
  const total = weights.reduce((a, b) => a + b, 0)
  const nodes = relativeTo === undefined ? profile.nodes : profile.nodes.map((n) => ({ ...n, callFrame: { ...n.callFrame, url: relativeUrl(n.callFrame.url, relativeTo) } }))
  return { nodes: pruneNodes(nodes, keptSamples), startTime, endTime: startTime + total, samples: keptSamples, timeDeltas }
}

/** Drops nodes no kept sample passes through, so a windowed profile carries no unmeasured frames. */
function pruneNodes(nodes: readonly ProfileNode[], samples: readonly number[]): ProfileNode[] {
  const parent = new Map<number, number>()
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const hits = new Map<number, number>()
  for (const s of samples) hits.set(s, (hits.get(s) ?? 0) + 1)
  const live = new Set<number>()
  for (const s of hits.keys()) {
    let id: number | undefined = s
    while (id !== undefined && !live.has(id)) {
      live.add(id)
      id = parent.get(id)
    }
  }
  const root = nodes[0]
  if (root !== undefined) live.add(root.id)
  return nodes
    .filter((n) => live.has(n.id))
    .map((n) => ({
      id: n.id,
      callFrame: n.callFrame,
      hitCount: hits.get(n.id) ?? 0,
      children: (n.children ?? []).filter((c) => live.has(c))
    }))
}

export function relativeUrl(url: string, dir: string): string {
  const base = dir.endsWith('/') ? dir : `${dir}/`
  if (url.startsWith(`file://${base}`)) return url.slice(`file://${base}`.length)
  if (url.startsWith(base)) return url.slice(base.length)
  return url
}

/**
 * Several profiles as one: one root whose children are every profile's top frames (under a frame
 * named after each profile's label when there are several, e.g. a cluster's primary and workers),
 * samples one profile after the other. Time adds up: two processes sampled over the same second
 * make two seconds of profile, which is what a flame graph of where CPU went should show.
 */
export function mergeProfiles(parts: ReadonlyArray<{ profile: CpuProfile; label?: string }>): CpuProfile {
  const nodes: ProfileNode[] = [{ id: 1, callFrame: frame(ROOT_FRAME), hitCount: 0, children: [] }]
  const root = nodes[0] as ProfileNode
  const samples: number[] = []
  const timeDeltas: number[] = []
  let nextId = 2
  let startTime = Number.POSITIVE_INFINITY
  let duration = 0
  let pendingGap = 0
  for (const { profile, label } of parts) {
    if (profile.nodes.length === 0) continue
    startTime = Math.min(startTime, profile.startTime)
    const map = new Map<number, number>()
    for (const n of profile.nodes) map.set(n.id, nextId++)
    const partRoot = profile.nodes[0] as ProfileNode
    let attach = root
    if (label !== undefined) {
      attach = { id: nextId++, callFrame: frame(`(${label})`), hitCount: 0, children: [] }
      nodes.push(attach)
      root.children?.push(attach.id)
    }
    for (const n of profile.nodes) {
      const id = map.get(n.id) as number
      if (n === partRoot) {
        // The part's root becomes the attachment point; its own samples (rare) land there.
        for (const c of n.children ?? []) attach.children?.push(map.get(c) as number)
        map.set(n.id, attach.id)
        continue
      }
      nodes.push({ id, callFrame: n.callFrame, hitCount: n.hitCount ?? 0, children: (n.children ?? []).map((c) => map.get(c) as number) })
    }
    const weights = sampleWeights(profile)
    for (let i = 0; i < profile.samples.length; i++) {
      samples.push(map.get(profile.samples[i] as number) as number)
      timeDeltas.push(samples.length === 1 ? 0 : pendingGap)
      pendingGap = weights[i] as number
      duration += weights[i] as number
    }
  }
  if (!Number.isFinite(startTime)) startTime = 0
  return { nodes, startTime, endTime: startTime + duration, samples, timeDeltas }
}

function frame(name: string): CallFrame {
  return { functionName: name, scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }
}

/** Each sample's weight in µs: the time until the next sample (the last one: until endTime). */
export function sampleWeights(profile: CpuProfile): number[] {
  const out: number[] = []
  for (let i = 0; i < profile.samples.length; i++) {
    const next = profile.timeDeltas[i + 1]
    if (next !== undefined) out.push(Math.max(0, next))
    else {
      let t = profile.startTime
      for (const d of profile.timeDeltas) t += d
      out.push(Math.max(0, profile.endTime - t))
    }
  }
  return out
}

/** A function as the reports name it: name, file (relative where possible) and 1-based line. */
export interface FunctionId {
  key: string
  name: string
  url: string
  /** 1-based; 0 when V8 gave none (native frames). */
  line: number
}

export function functionIdOf(cf: CallFrame): FunctionId {
  const name = cf.functionName === '' ? '(anonymous)' : cf.functionName
  const line = cf.lineNumber >= 0 ? cf.lineNumber + 1 : 0
  return { key: `${name}\u0000${cf.url}\u0000${line}\u0000${cf.columnNumber}`, name, url: cf.url, line }
}

export interface FunctionTime {
  id: FunctionId
  /** Time sampled in this function's own code, µs. */
  selfUs: number
  /** Time sampled with this function anywhere on the stack (counted once per sample), µs. */
  totalUs: number
}

export interface FunctionTable {
  functions: Map<string, FunctionTime>
  /** Sampled time that was not the thread idling, µs. */
  busyUs: number
  idleUs: number
}

/** A profile's nodes by id, each node's parent, and the sampled µs that landed on each node. */
function indexProfile(profile: CpuProfile): { byId: Map<number, CpuProfile['nodes'][number]>; parent: Map<number, number>; perNode: Map<number, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const weights = sampleWeights(profile)
  const perNode = new Map<number, number>()
  profile.samples.forEach((s, i) => perNode.set(s, (perNode.get(s) ?? 0) + (weights[i] as number)))
  return { byId, parent, perNode }
}

/** Self and total (inclusive) time per function; idle time is kept apart from busy time. */
export function functionTable(profile: CpuProfile): FunctionTable {
  const { byId, parent, perNode } = indexProfile(profile)
  const functions = new Map<string, FunctionTime>()
  let busyUs = 0
  let idleUs = 0
  for (const [nodeId, us] of perNode) {
    const node = byId.get(nodeId)
    if (node === undefined) continue
    if (node.callFrame.functionName === IDLE_FRAME) {
      idleUs += us
      continue
    }
    busyUs += us
    const seen = new Set<string>()
    let id: number | undefined = nodeId
    let leaf = true
    while (id !== undefined) {
      const n = byId.get(id)
      if (n === undefined || n.callFrame.functionName === ROOT_FRAME) break
      const fid = functionIdOf(n.callFrame)
      let entry = functions.get(fid.key)
      if (entry === undefined) {
        entry = { id: fid, selfUs: 0, totalUs: 0 }
        functions.set(fid.key, entry)
      }
      if (leaf) entry.selfUs += us
      // Recursion: a function twice on one stack still counts the sample once in its total.
      if (!seen.has(fid.key)) entry.totalUs += us
      seen.add(fid.key)
      leaf = false
      id = parent.get(id)
    }
  }
  return { functions, busyUs, idleUs }
}

/** An aggregated call tree (frames merged by path), for flame graphs. */
export interface TreeNode {
  id: FunctionId
  /** Inclusive time, in whatever unit the tree was scaled to. */
  total: number
  self: number
  children: Map<string, TreeNode>
}

export function emptyTree(): TreeNode {
  return { id: { key: ROOT_FRAME, name: ROOT_FRAME, url: '', line: 0 }, total: 0, self: 0, children: new Map() }
}

/** Adds a profile's busy samples to `tree`, each weighted by `scale` (e.g. 1 / requests for µs per request). */
export function addToTree(tree: TreeNode, profile: CpuProfile, scale = 1): TreeNode {
  const { byId, parent, perNode } = indexProfile(profile)
  for (const [nodeId, us] of perNode) {
    const node = byId.get(nodeId)
    if (node === undefined || node.callFrame.functionName === IDLE_FRAME) continue
    const path: ProfileNode[] = []
    let id: number | undefined = nodeId
    while (id !== undefined) {
      const n = byId.get(id)
      if (n === undefined || n.callFrame.functionName === ROOT_FRAME) break
      path.push(n)
      id = parent.get(id)
    }
    const value = us * scale
    tree.total += value
    let at = tree
    for (let i = path.length - 1; i >= 0; i--) {
      const fid = functionIdOf((path[i] as ProfileNode).callFrame)
      let child = at.children.get(fid.key)
      if (child === undefined) {
        child = { id: fid, total: 0, self: 0, children: new Map() }
        at.children.set(fid.key, child)
      }
      child.total += value
      at = child
    }
    at.self += value
  }
  return tree
}
