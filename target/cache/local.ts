// In-process token caches: `none` (every lookup goes to the store) and a bounded `lru`.
// lru-cache does the bounding, TTLs and eviction; this adds the counters the metrics need.
import { LRUCache } from 'lru-cache'
import type { CacheStats, TokenCache, TokenState } from '../domain.ts'

export class NoTokenCache implements TokenCache {
  readonly kind = 'none' as const
  private misses = 0
  async get(): Promise<TokenState | undefined> {
    this.misses++
    return undefined
  }
  async set(): Promise<void> {}
  async markRevoked(): Promise<void> {}
  async claimOtt(): Promise<boolean | null> {
    return null
  }
  stats(): CacheStats {
    return { kind: this.kind, entries: 0, maxEntries: 0, hits: 0, misses: this.misses, evictions: 0, errors: 0 }
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

export class LruTokenCache implements TokenCache {
  readonly kind = 'lru' as const
  private readonly lru: LRUCache<string, TokenState>
  private hits = 0
  private misses = 0
  private evictions = 0

  constructor(options: { maxEntries: number }) {
    this.lru = new LRUCache<string, TokenState>({
      max: options.maxEntries,
      ttlAutopurge: false,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++
      }
    })
  }

  async get(tokenId: string): Promise<TokenState | undefined> {
    return this.getSync(tokenId)
  }

  /** Synchronous read, for the tiered cache and the hot path. */
  getSync(tokenId: string): TokenState | undefined {
    const v = this.lru.get(tokenId)
    if (v === undefined) this.misses++
    else this.hits++
    return v
  }

  async set(tokenId: string, state: TokenState, ttlMs: number): Promise<void> {
    this.setSync(tokenId, state, ttlMs)
  }

  setSync(tokenId: string, state: TokenState, ttlMs: number): void {
    // Never let a stale "not revoked" overwrite a revocation that landed meanwhile.
    const cur = this.lru.peek(tokenId)
    if (cur && (cur.revoked || cur.used) && !state.revoked && !state.used) return
    this.lru.set(tokenId, state, { ttl: Math.max(1, ttlMs) })
  }

  async markRevoked(tokenId: string, ttlMs: number): Promise<void> {
    this.lru.set(tokenId, { revoked: true, used: true }, { ttl: Math.max(1, ttlMs) })
  }

  delete(tokenId: string): void {
    this.lru.delete(tokenId)
  }

  async claimOtt(): Promise<boolean | null> {
    return null
  }

  stats(): CacheStats {
    return { kind: this.kind, entries: this.lru.size, maxEntries: this.lru.max, hits: this.hits, misses: this.misses, evictions: this.evictions, errors: 0 }
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {
    this.lru.clear()
  }
}
