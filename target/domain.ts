// The interfaces the target's services depend on. Memory, PostgreSQL and Redis implementations are
// peers behind these; no route or service imports a driver (pg, ioredis) directly.

export type TokenType = 'N' | 'O'

export interface Client {
  clientId: string
  clientName: string
  /** scrypt hash of the secret, `scrypt$<saltB64>$<hashB64>`; the secret itself is never stored. */
  secretHash: string
  accessTokenTtlS: number
  allowedScopes: string[]
  active: boolean
}

/** One row of the `endpoints` table: a resource and the scope it requires. */
export interface EndpointRule {
  id: number
  clientId: string | null
  scope: string
  method: string
  endpointUrl: string
  active: boolean
}

/** A persisted token. The JWT itself is not stored, only its SHA-256: a leaked table holds no usable token. */
export interface TokenRecord {
  tokenId: string
  tokenHash: string
  tokenType: TokenType
  clientId: string
  scopes: string[]
  issuedAtMs: number
  expiresAtMs: number
  revokedAtMs: number | null
  /** When a one-time token was consumed by its first successful validate. */
  usedAtMs: number | null
}

/** What validation reads of a token's row. */
export interface TokenStateRecord {
  tokenType: TokenType
  expiresAtMs: number
  revokedAtMs: number | null
  usedAtMs: number | null
}

export interface ClientStore {
  getClient(clientId: string): Promise<Client | null>
  listClients(): Promise<Client[]>
  listEndpoints(): Promise<EndpointRule[]>
  upsertClient(client: Client): Promise<void>
  upsertEndpoint(rule: Omit<EndpointRule, 'id'>): Promise<void>
}

export interface TokenStore {
  /** Insert issued tokens. Idempotent: an existing row (for example one a revoke created first) is kept. */
  insertTokens(records: readonly TokenRecord[]): Promise<void>
  findToken(tokenId: string): Promise<TokenRecord | null>
  /** The narrow validation lookup (on PostgreSQL an index-only scan of the covering index). */
  findTokenState(tokenId: string): Promise<TokenStateRecord | null>
  /**
   * Mark tokens revoked. Tokens not yet inserted (still in a batch) are upserted from the given
   * records so that the revocation survives the later insert. Returns how many changed state.
   */
  revokeTokens(records: readonly TokenRecord[], atMs: number): Promise<number>
  /**
   * Atomically consume a one-time token: true for exactly one caller across all processes
   * sharing the store, false for every other. Works whether or not the token was flushed yet.
   */
  consumeOtt(record: TokenRecord, atMs: number): Promise<boolean>
  /** Record consumption decided elsewhere (a Redis claim), idempotently, for persistence. */
  markOttUsed(records: readonly TokenRecord[], atMs: number): Promise<void>
  /** Delete up to `limit` tokens that expired before `beforeMs`; returns the number deleted. */
  deleteExpiredBatch(beforeMs: number, limit: number): Promise<number>
  countTokens(): Promise<number>
}

export interface Store extends ClientStore, TokenStore {
  readonly kind: 'memory' | 'postgres'
  ping(): Promise<void>
  /** Pool figures for /metrics; zeros where the store has no pool. */
  poolStats(): PoolStats
  close(): Promise<void>
}

export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

/** What validation needs to know about a token beyond its signature. */
export interface TokenState {
  revoked: boolean
  used: boolean
}

export interface CacheStats {
  kind: string
  entries: number
  maxEntries: number
  hits: number
  misses: number
  evictions: number
  errors: number
}

export interface TokenCache {
  readonly kind: 'none' | 'lru' | 'redis' | 'tiered'
  get(tokenId: string): Promise<TokenState | undefined>
  set(tokenId: string, state: TokenState, ttlMs: number): Promise<void>
  /**
   * Record a revocation (or a consumed OTT). When this resolves, no `get` on any instance sharing
   * the cache returns a non-revoked state for the token.
   */
  markRevoked(tokenId: string, ttlMs: number): Promise<void>
  /**
   * Atomically claim a one-time token across every instance sharing the cache: true for exactly
   * one caller. `null` when this cache cannot arbitrate (not shared), and the store decides.
   */
  claimOtt(tokenId: string, ttlMs: number): Promise<boolean | null>
  stats(): CacheStats
  ping(): Promise<void>
  close(): Promise<void>
}

/**
 * Decides which of several instances runs a sweep tick, so that instances sharing a database do
 * not sweep it at once. The memory implementation always runs; the Redis one holds a lock (renewed while held) and the others skip that tick.
 */
export interface SweepLock {
  /** Run `fn` if this instance wins the tick's lock; false when another instance holds it. */
  runExclusive(fn: (signal: AbortSignal) => Promise<void>): Promise<boolean>
  close(): Promise<void>
}
