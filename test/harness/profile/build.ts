// Synthetic V8 CPU profiles for the profile tests: stacks (root first) with a sample count each,
// sampled every `intervalUs` from `startUs`, in the order given.
import type { CpuProfile, ProfileNode } from '../../../harness/profile/cpuprofile.ts'

export interface StackSpec {
  /** Function names, outermost first; 'name@file:line' sets the file and 1-based line. */
  stack: string[]
  samples: number
}

export function buildProfile(stacks: readonly StackSpec[], options: { startUs?: number; intervalUs?: number } = {}): CpuProfile {
  const intervalUs = options.intervalUs ?? 1_000
  const startTime = options.startUs ?? 1_000_000
  const nodes: ProfileNode[] = [{ id: 1, callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 }, children: [] }]
  const index = new Map<string, number>()
  const samples: number[] = []
  for (const { stack, samples: n } of stacks) {
    let parent = nodes[0] as ProfileNode
    let path = ''
    for (const entry of stack) {
      path += `/${entry}`
      let id = index.get(path)
      if (id === undefined) {
        const [name, where] = entry.split('@') as [string, string | undefined]
        const [url, line] = where === undefined ? ['', 0] : [where.slice(0, where.lastIndexOf(':')), Number(where.slice(where.lastIndexOf(':') + 1))]
        id = nodes.length + 1
        nodes.push({ id, callFrame: { functionName: name, scriptId: '1', url, lineNumber: line - 1, columnNumber: 0 }, children: [] })
        parent.children?.push(id)
        index.set(path, id)
      }
      parent = nodes[id - 1] as ProfileNode
    }
    for (let i = 0; i < n; i++) samples.push(parent.id)
  }
  const timeDeltas = samples.map((_, i) => (i === 0 ? 0 : intervalUs))
  return { nodes, startTime, endTime: startTime + samples.length * intervalUs, samples, timeDeltas }
}
