// Builds the store and cache the config names. The only module that knows every implementation;
// services receive them as interfaces.
import type { Config } from './config.ts'
import type { Store, TokenCache } from './domain.ts'
import type { Logger } from './logger.ts'
import { MemoryStore } from './stores/memory.ts'
import { LruTokenCache, NoTokenCache } from './cache/local.ts'

export async function createStore(config: Config, logger: Logger): Promise<Store> {
  switch (config.store) {
    case 'memory':
      return new MemoryStore()
    case 'postgres': {
      const { PostgresStore } = await import('./stores/postgres.ts')
      return PostgresStore.connect(config, logger)
    }
  }
}

export async function createCache(config: Config, logger: Logger): Promise<TokenCache> {
  switch (config.cache) {
    case 'none':
      return new NoTokenCache()
    case 'lru':
      return new LruTokenCache({ maxEntries: config.cacheMaxEntries })
    case 'redis':
    case 'tiered': {
      const { createRedisCache } = await import('./cache/redis.ts')
      return createRedisCache(config, logger)
    }
  }
}
