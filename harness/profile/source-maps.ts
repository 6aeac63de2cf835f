// Maps a profile's frames back to the source the user wrote. A target run through a loader (tsx,
// ts-node) executes transpiled code, so V8 reports positions in that code (tsx's output puts whole
// modules on a few lines); the loader inlines a source map, which the inspector announces with
// each script once the Debugger domain is on. The domain is switched on only after the profiler
// has stopped, for as long as it takes to list the scripts, and off again: it never runs during a
// measured window. Node's own SourceMap (node:module) reads the maps; no library is needed.
import { SourceMap } from 'node:module'
import type { SourceMapPayload } from 'node:module'
import type { CpuProfile } from './cpuprofile.ts'
import type { InspectorSession } from './inspector.ts'

interface ScriptParsed {
  scriptId: string
  url: string
  sourceMapURL?: string
}

export interface SourceMapCache {
  maps: Map<string, SourceMap | null>
}

export function createSourceMapCache(): SourceMapCache {
  return { maps: new Map() }
}

function decodeDataUrl(url: string): SourceMapPayload | null {
  const m = /^data:application\/json[^,]*?(;base64)?,(.*)$/s.exec(url)
  if (m === null) return null
  try {
    const text = m[1] === undefined ? decodeURIComponent(m[2] as string) : Buffer.from(m[2] as string, 'base64').toString('utf8')
    return JSON.parse(text) as SourceMapPayload
  } catch {
    return null
  }
}

/** Lists the scripts the inspector knows (Debugger.enable replays scriptParsed for each), then turns the domain off. */
async function listScripts(session: InspectorSession): Promise<ScriptParsed[]> {
  const scripts: ScriptParsed[] = []
  const off = session.onEvent((method, params) => {
    if (method === 'Debugger.scriptParsed') scripts.push(params as ScriptParsed)
  })
  try {
    await session.send('Debugger.enable')
  } finally {
    await session.send('Debugger.disable').catch(() => undefined)
    off()
  }
  return scripts
}

/** Rewrites frames whose script has an inline source map to the original file and line. */
export async function resolveSourcePositions(session: InspectorSession, profile: CpuProfile, cache: SourceMapCache): Promise<void> {
  const wanted = new Set(profile.nodes.map((n) => n.callFrame.scriptId).filter((id) => id !== '0' && !cache.maps.has(id)))
  if (wanted.size > 0) {
    for (const s of await listScripts(session)) {
      if (cache.maps.has(s.scriptId)) continue
      const payload = s.sourceMapURL !== undefined && s.sourceMapURL.startsWith('data:') ? decodeDataUrl(s.sourceMapURL) : null
      let map: SourceMap | null = null
      if (payload !== null) {
        try {
          map = new SourceMap(payload)
        } catch {
          map = null
        }
      }
      cache.maps.set(s.scriptId, map)
    }
    for (const id of wanted) if (!cache.maps.has(id)) cache.maps.set(id, null)
  }
  for (const n of profile.nodes) {
    const map = cache.maps.get(n.callFrame.scriptId)
    if (map === undefined || map === null || n.callFrame.lineNumber < 0) continue
    const entry = map.findEntry(n.callFrame.lineNumber, Math.max(0, n.callFrame.columnNumber)) as { originalSource?: string; originalLine?: number; originalColumn?: number }
    if (entry.originalSource === undefined || entry.originalLine === undefined) continue
    n.callFrame = { ...n.callFrame, url: entry.originalSource, lineNumber: entry.originalLine, columnNumber: entry.originalColumn ?? 0 }
  }
}
