// Builds the store and cache the config names. The only module that knows every implementation;
// services receive them as interfaces.
import type { Config } from './config.ts'
import type { Store, TokenCache } from './domain.ts'
import { MemoryStore } from './stores/memory.ts'
import { LruTokenCache, NoTokenCache } from './cache/local.ts'

export interface Logger {
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}

export async function createStore(config: Config, _logger: Logger): Promise<Store> {
  switch (config.store) {
    case 'memory':
      return new MemoryStore()
    case 'postgres': {
      const { PostgresStore } = await import('./stores/postgres.ts')
      return PostgresStore.connect(config, _logger)
    }
  }
}

export async function createCache(config: Config, _logger: Logger): Promise<TokenCache> {
  switch (config.cache) {
    case 'none':
      return new NoTokenCache()
    case 'lru':
      return new LruTokenCache({ maxEntries: config.cacheMaxEntries })
    case 'redis':
    case 'tiered': {
      const { createRedisCache } = await import('./cache/redis.ts')
      return createRedisCache(config, _logger)
    }
  }
}
