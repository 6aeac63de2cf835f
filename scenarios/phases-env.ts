// How the reference target's presets run side by side in `authbench phases`: each on the chosen
// backend (`--store`, `--cache`), with every other setting blanked. The target's own knowledge,
// handed to the harness through its definition's `variantsEnv` (authbench.config.ts).
import { BadOptionError } from '../harness/index.ts'
import { ENV_NAMES, PRESETS, PRESET_VALUES, loadConfig as loadTargetConfig } from '../target/config.ts'
import type { PresetName } from '../target/config.ts'

export const BACKEND_DEFAULTS = Object.freeze({
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: 'redis://127.0.0.1:6379'
})

export interface Backend {
  store: 'memory' | 'postgres'
  /** The shared cache the cached phases use; null: the preset's own in-process choice (lru / none). */
  cache: 'redis' | 'tiered' | null
  databaseUrl: string | null
  redisUrl: string | null
}

export function parseBackend(raw: Readonly<{ store?: string; cache?: string }>, env: NodeJS.ProcessEnv): Backend {
  const store = raw.store ?? 'memory'
  if (store !== 'memory' && store !== 'postgres') throw new BadOptionError(`--store "${store}" must be memory (the embedded default) or postgres`)
  const cache = raw.cache ?? null
  if (cache !== null && cache !== 'redis' && cache !== 'tiered') {
    throw new BadOptionError(`--cache "${cache}" must be redis or tiered: the presets choose their in-process cache themselves (baseline and phase1 have none)`)
  }
  return {
    store,
    cache,
    databaseUrl: store === 'postgres' ? env.DATABASE_URL || BACKEND_DEFAULTS.databaseUrl : null,
    redisUrl: cache !== null ? env.REDIS_URL || BACKEND_DEFAULTS.redisUrl : null
  }
}

/**
 * The target environment of one preset on one backend. Every other config variable is blanked
 * (the target skips empty values), because the target inherits this process's environment and a
 * stray DB_POOL_MAX or CACHE in the shell would quietly make the presets alike. The cache is set
 * per preset: a preset without a cache keeps none, so `--cache redis` never gives baseline one.
 */
export function presetTargetEnv(preset: PresetName, backend: Backend): Record<string, string> {
  const env: Record<string, string> = Object.fromEntries(Object.values(ENV_NAMES).map((name) => [name, '']))
  delete env.PORT
  delete env.HOST
  env.LOG_LEVEL = 'warn'
  env.PRESET = preset
  env.STORE = backend.store
  if (backend.databaseUrl !== null) env.DATABASE_URL = backend.databaseUrl
  if (backend.redisUrl !== null) env.REDIS_URL = backend.redisUrl
  const presetCache = PRESET_VALUES[preset].cache ?? 'lru'
  env.CACHE = presetCache === 'none' || backend.cache === null ? presetCache : backend.cache
  // INSTANCES is set, not blanked: the target drops phase3 to one instance off PostgreSQL + a shared
  // cache only when INSTANCES is absent, and an empty value counts as present there. The count is
  // the target's own config loader's answer for this env (throws when it would refuse the config).
  env.INSTANCES = String(loadTargetConfig({ ...env, INSTANCES: undefined, PORT: '0' }).instances)
  return env
}

/** The target definition's `variantsEnv`: a preset's environment on the backend the options name. */
export function presetVariantEnv(variant: string, options: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): Record<string, string> {
  if (!(PRESETS as readonly string[]).includes(variant)) throw new BadOptionError(`variant "${variant}" is not a preset (${PRESETS.join(', ')})`)
  const backend = parseBackend(options, env)
  try {
    return presetTargetEnv(variant as PresetName, backend)
  } catch (error) {
    throw new BadOptionError(
      `preset ${variant} on ${backend.store}${backend.cache === null ? '' : ` + ${backend.cache}`}: the target would refuse this config: ${(error as Error).message}`
    )
  }
}
