// The embedded default store: everything in process memory, with the same semantics as the
// PostgreSQL store (idempotent inserts, revocations that survive a later insert, an atomic OTT
// consume, batched deletes of expired rows), so the two pass one contract suite.
import type { Client, EndpointRule, PoolStats, Store, TokenRecord, TokenStateRecord } from '../domain.ts'

export interface MemoryStoreOptions {
  /** Simulated per-operation latency, for tests that need a slow store. */
  latencyMs?: number
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  private readonly clients = new Map<string, Client>()
  private readonly endpoints = new Map<string, EndpointRule>()
  private readonly tokens = new Map<string, TokenRecord>()
  private nextEndpointId = 1
  private closed = false
  private readonly latencyMs: number

  constructor(options: MemoryStoreOptions = {}) {
    this.latencyMs = options.latencyMs ?? 0
  }

  private async tick(): Promise<void> {
    if (this.closed) throw new Error('store is closed')
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs))
  }

  async getClient(clientId: string): Promise<Client | null> {
    await this.tick()
    const c = this.clients.get(clientId)
    return c ? { ...c, allowedScopes: [...c.allowedScopes] } : null
  }

  async listClients(): Promise<Client[]> {
    await this.tick()
    return [...this.clients.values()].map((c) => ({ ...c, allowedScopes: [...c.allowedScopes] }))
  }

  async listEndpoints(): Promise<EndpointRule[]> {
    await this.tick()
    return [...this.endpoints.values()].map((e) => ({ ...e }))
  }

  async upsertClient(client: Client): Promise<void> {
    await this.tick()
    this.clients.set(client.clientId, { ...client, allowedScopes: [...client.allowedScopes] })
  }

  async upsertEndpoint(rule: Omit<EndpointRule, 'id'>): Promise<void> {
    await this.tick()
    const key = `${rule.clientId ?? ''}\u0000${rule.method}\u0000${rule.endpointUrl}`
    const existing = this.endpoints.get(key)
    this.endpoints.set(key, { ...rule, id: existing?.id ?? this.nextEndpointId++ })
  }

  async insertTokens(records: readonly TokenRecord[]): Promise<void> {
    await this.tick()
    for (const r of records) {
      if (!this.tokens.has(r.tokenId)) this.tokens.set(r.tokenId, { ...r, scopes: [...r.scopes] })
    }
  }

  async findToken(tokenId: string): Promise<TokenRecord | null> {
    await this.tick()
    const t = this.tokens.get(tokenId)
    return t ? { ...t, scopes: [...t.scopes] } : null
  }

  async findTokenState(tokenId: string): Promise<TokenStateRecord | null> {
    await this.tick()
    const t = this.tokens.get(tokenId)
    return t ? { tokenType: t.tokenType, expiresAtMs: t.expiresAtMs, revokedAtMs: t.revokedAtMs, usedAtMs: t.usedAtMs } : null
  }

  async revokeTokens(records: readonly TokenRecord[], atMs: number): Promise<number> {
    await this.tick()
    let changed = 0
    for (const r of records) {
      const t = this.tokens.get(r.tokenId)
      if (!t) {
        this.tokens.set(r.tokenId, { ...r, scopes: [...r.scopes], revokedAtMs: atMs })
        changed++
      } else if (t.revokedAtMs === null) {
        t.revokedAtMs = atMs
        changed++
      }
    }
    return changed
  }

  async consumeOtt(record: TokenRecord, atMs: number): Promise<boolean> {
    await this.tick()
    // Check and set with no await between them: atomic on Node's single thread.
    const t = this.tokens.get(record.tokenId)
    if (!t) {
      this.tokens.set(record.tokenId, { ...record, scopes: [...record.scopes], usedAtMs: atMs })
      return true
    }
    if (t.usedAtMs !== null) return false
    t.usedAtMs = atMs
    return true
  }

  async markOttUsed(records: readonly TokenRecord[], atMs: number): Promise<void> {
    await this.tick()
    for (const r of records) {
      const t = this.tokens.get(r.tokenId)
      if (!t) this.tokens.set(r.tokenId, { ...r, scopes: [...r.scopes], usedAtMs: atMs })
      else if (t.usedAtMs === null) t.usedAtMs = atMs
    }
  }

  async deleteExpiredBatch(beforeMs: number, limit: number): Promise<number> {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`batch size must be a positive integer, got ${limit}`)
    await this.tick()
    // A linear scan: the memory store has no index on expiry. Bounded by `limit` deletions.
    let deleted = 0
    for (const [id, t] of this.tokens) {
      if (deleted >= limit) break
      if (t.expiresAtMs < beforeMs) {
        this.tokens.delete(id)
        deleted++
      }
    }
    return deleted
  }

  async countTokens(): Promise<number> {
    await this.tick()
    return this.tokens.size
  }

  async ping(): Promise<void> {
    await this.tick()
  }

  poolStats(): PoolStats {
    return { total: 0, idle: 0, waiting: 0 }
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
