// A target as the engine sees it: a started process wrapped as a TargetHandle (only an exit nobody
// asked for settles `exited`), and the target's own config read for the fingerprint.
import { request } from 'undici'
import type { TargetDefinition } from '../api.ts'
import type { TargetHandle } from './engine-types.ts'
import { startTarget, type TargetProcessOptions } from './target-process.ts'

/**
 * The target's effective config for the fingerprint: a GET of its declared `configPath`, picked by
 * `configFrom`; null when it declares none or it does not answer.
 */
export async function fetchTargetConfig(url: string, target: Pick<TargetDefinition, 'configPath' | 'configFrom'> | null): Promise<Record<string, unknown> | null> {
  if (target?.configPath === undefined) return null
  try {
    const res = await request(`${url}${target.configPath}`, { method: 'GET', signal: AbortSignal.timeout(3_000) })
    if (res.statusCode !== 200) {
      await res.body.dump()
      return null
    }
    const body = (await res.body.json()) as unknown
    if (target.configFrom !== undefined) return target.configFrom(body)
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/**
 * Starts a configured target as the engine's TargetHandle: only an exit nobody asked for settles
 * `exited` (as a crash). Shared by every command that starts one.
 */
export async function startTargetHandle(options: TargetProcessOptions, generatorCpus: string | null): Promise<TargetHandle> {
  const tp = await startTarget(options)
  return {
    url: tp.url,
    pid: tp.pid ?? null,
    cpuPinning: { target: tp.pinnedCpus, generator: generatorCpus },
    exited: new Promise<Error>((resolve) => tp.once('crash', (err: Error) => resolve(err))),
    stop: async () => {
      await tp.stop()
    }
  }
}
