// The auth flows: issue, validate and revoke. Validity = a good HS256 signature (we issued it),
// unexpired, not revoked, and for a one-time token not yet consumed. The store and caches hold
// only the revocation/consumption state, so a token is valid the moment it is issued, even while
// its row still waits in the batch writer: a client may use a token the moment it was answered 200.
import type { Config } from '../config.ts'
import type { Store, TokenCache, TokenRecord, TokenState, TokenType } from '../domain.ts'
import { AuthError } from '../errors.ts'
import { verifySecret } from '../secrets.ts'
import type { TokenBatchWriter } from './batch-writer.ts'
import type { ClientRegistry } from './client-registry.ts'
import { recordFromClaims, type JwtService } from './jwt.ts'
import type { RevocationJob, RevocationWorkerPool } from './revocation-pool.ts'

export interface TokenRequest {
  grant_type: string
  client_id: string
  client_secret: string
  scope?: string
}

export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
}

export interface ValidateResponse {
  valid: true
  client_id: string
  expires_at: string
  scopes: string[]
}

export interface ServiceMetrics {
  tokenIssued(type: TokenType): void
  validation(outcome: string): void
  revocation(mode: 'sync' | 'pool'): void
  cacheError(): void
}

export interface TokenServiceDeps {
  config: Config
  store: Store
  cache: TokenCache
  registry: ClientRegistry
  jwt: JwtService
  /** null: tokens are inserted on the request path (the baseline preset). */
  writer: TokenBatchWriter | null
  /** null: revocations and OTT consumption are persisted on the request path. */
  revocations: RevocationWorkerPool | null
  metrics: ServiceMetrics
  logger: { warn(obj: unknown, msg?: string): void; error(obj: unknown, msg?: string): void }
}

const NOOP_METRICS: ServiceMetrics = { tokenIssued() {}, validation() {}, revocation() {}, cacheError() {} }

export class TokenService {
  /** Revocations accepted but not yet durable in the store: token id → expiry (ms). */
  private readonly pendingRevocations = new Map<string, number>()
  /**
   * One-time tokens this instance consumed, kept until they expire. Only used when this single
   * instance arbitrates OTTs itself (revocation pool on, no shared cache): keeping the entry until
   * expiry, not just until persisted, closes the window where a validate that read "unused" from
   * the store before the consumption landed could consume the token a second time.
   */
  private readonly consumedOtts = new Map<string, number>()
  /** Single-flight: concurrent misses for one token run one store query, not one per request. */
  private readonly inflight = new Map<string, Promise<TokenState>>()
  private readonly metrics: ServiceMetrics
  /** INJECT_FORGET_REVOCATIONS: the test-only fault that validate ignores revocation and consumption. */
  private readonly forgetRevocations: boolean
  private pruneTimer: NodeJS.Timeout | null = null

  constructor(private readonly deps: TokenServiceDeps) {
    this.metrics = deps.metrics ?? NOOP_METRICS
    this.forgetRevocations = deps.config.injectForgetRevocations
    if (this.forgetRevocations)
      deps.logger.warn({ code: 'AUTH_WARN_FORGET_REVOCATIONS' }, 'INJECT_FORGET_REVOCATIONS is on: revoked tokens and spent one-time tokens still validate (test only)')
    if (deps.revocations || deps.config.instances === 1) {
      this.pruneTimer = setInterval(() => this.prune(), 10_000)
      this.pruneTimer.unref()
    }
  }

  /** Called by the revocation pool once a job is durable. */
  onPersisted = (job: RevocationJob): void => {
    if (job.kind === 'revoke') this.pendingRevocations.delete(job.record.tokenId)
  }

  private prune(nowMs = Date.now()): void {
    for (const [id, exp] of this.consumedOtts) if (exp < nowMs) this.consumedOtts.delete(id)
  }

  /** The client's checks (grant type, secret, scopes), shared by issue and issueMany. */
  private async authorizeIssue(req: TokenRequest, type: TokenType): Promise<{ clientId: string; scopes: string[]; ttlS: number }> {
    if (req.grant_type !== 'client_credentials') throw new AuthError('UNSUPPORTED_GRANT_TYPE')
    const client = await this.deps.registry.getClient(req.client_id)
    // Hash even for an unknown client so that the response time does not reveal which ids exist.
    const ok = verifySecret(req.client_secret, client?.secretHash ?? DUMMY_HASH)
    if (!client || !ok || !client.active) throw new AuthError('INVALID_CLIENT')
    let scopes = client.allowedScopes
    if (req.scope !== undefined && req.scope.trim() !== '') {
      const asked = [...new Set(req.scope.trim().split(/\s+/))]
      if (!asked.every((s) => client.allowedScopes.includes(s))) throw new AuthError('INVALID_SCOPE')
      scopes = asked
    }
    const ttlS = type === 'O' ? this.deps.config.ottTtlS : client.accessTokenTtlS || this.deps.config.tokenTtlS
    return { clientId: client.clientId, scopes, ttlS }
  }

  async issue(req: TokenRequest, type: TokenType): Promise<TokenResponse> {
    const { clientId, scopes, ttlS } = await this.authorizeIssue(req, type)
    const { jwt, record } = this.deps.jwt.issue(clientId, scopes, type, ttlS)
    if (this.deps.writer) this.deps.writer.add(record)
    else await this.deps.store.insertTokens([record])
    this.metrics.tokenIssued(type)
    return { access_token: jwt, token_type: 'Bearer', expires_in: ttlS }
  }

  /**
   * Up to `count` tokens for one client in one call: the same checks, claims, records and
   * persistence as `issue`, without an HTTP round trip per token. The harness seeds its consumable
   * pools with it (a revoke trial needs ~100k fresh tokens; through /token that took ~8 s per
   * target). With a batch writer it stops early at the writer's pending bound and returns what
   * was issued (every returned token is as durable as one from /token); the caller asks again.
   */
  async issueMany(req: TokenRequest, type: TokenType, count: number): Promise<{ tokens: string[]; expiresIn: number }> {
    const { clientId, scopes, ttlS } = await this.authorizeIssue(req, type)
    const tokens: string[] = []
    const writer = this.deps.writer
    if (writer) {
      for (let i = 0; i < count; i++) {
        const { jwt, record } = this.deps.jwt.issue(clientId, scopes, type, ttlS)
        try {
          writer.add(record)
        } catch (err) {
          if (tokens.length === 0) throw err
          break // backpressure: keep what was issued
        }
        tokens.push(jwt)
        this.metrics.tokenIssued(type)
      }
    } else {
      const records = []
      for (let i = 0; i < count; i++) {
        const { jwt, record } = this.deps.jwt.issue(clientId, scopes, type, ttlS)
        tokens.push(jwt)
        records.push(record)
      }
      await this.deps.store.insertTokens(records)
      for (let i = 0; i < count; i++) this.metrics.tokenIssued(type)
    }
    return { tokens, expiresIn: ttlS }
  }

  async validate(jwt: string, resource: string): Promise<ValidateResponse> {
    const claims = this.deps.jwt.verify(jwt)
    const id = claims.token_id
    const state = await this.state(id, claims.exp * 1000)
    const isOtt = claims.token_type === 'O'
    // A consumed OTT is recorded as revoked in caches; for an OTT either means "used up".
    let spent = isOtt ? state.used || state.revoked : state.revoked
    if (spent && !this.forgetRevocations) throw isOtt ? this.reject('ott_used', 'OTT_USED') : this.reject('revoked', 'REVOKED_TOKEN')
    const required = this.deps.registry.requiredScope(resource, claims.client_id)
    if (required === undefined) throw this.reject('unknown_resource', 'UNKNOWN_RESOURCE')
    if (!claims.scopes.includes(required)) throw this.reject('insufficient_scope', 'INSUFFICIENT_SCOPE')
    // Consume a one-time token only on an otherwise successful validate.
    if (isOtt && !(await this.consumeOtt(recordFromClaims(claims, jwt)))) {
      if (!this.forgetRevocations) throw this.reject('ott_used', 'OTT_USED')
      spent = true
    }
    // Apart from 'valid', so /metrics shows how many answers the test-only fault changed.
    this.metrics.validation(spent ? 'forgotten' : 'valid')
    return { valid: true, client_id: claims.client_id, expires_at: new Date(claims.exp * 1000).toISOString(), scopes: claims.scopes }
  }

  private reject(outcome: string, name: 'REVOKED_TOKEN' | 'OTT_USED' | 'UNKNOWN_RESOURCE' | 'INSUFFICIENT_SCOPE'): AuthError {
    this.metrics.validation(outcome)
    return new AuthError(name)
  }

  /** Revoke a token. Idempotent; when this resolves, the token never validates again. */
  async revoke(jwt: string): Promise<void> {
    // An expired token is revoked too (it costs nothing and keeps revoke idempotent for clients).
    const claims = this.deps.jwt.verify(jwt, { ignoreExpiration: true })
    const record = recordFromClaims(claims, jwt)
    const nowMs = Date.now()
    const ttlMs = Math.max(1, record.expiresAtMs - nowMs)
    this.inflight.delete(record.tokenId)
    const pool = this.deps.revocations
    if (pool) {
      this.pendingRevocations.set(record.tokenId, record.expiresAtMs)
      let shared = true
      try {
        await this.deps.cache.markRevoked(record.tokenId, ttlMs)
      } catch (err) {
        shared = false
        this.metrics.cacheError()
        this.deps.logger.warn({ err, code: 'AUTH_ERR_CACHE' }, 'cache could not record a revocation; persisting it synchronously')
      }
      if (shared && pool.submit({ kind: 'revoke', record, atMs: nowMs })) {
        this.metrics.revocation('pool')
        return
      }
      await this.deps.store.revokeTokens([record], nowMs)
      this.pendingRevocations.delete(record.tokenId)
      if (!shared) throw this.sharedCacheMissedRevocation()
      this.metrics.revocation('sync')
      return
    }
    await this.deps.store.revokeTokens([record], nowMs)
    // A lookup that started before the write may still answer "not revoked": let no later validate join it.
    this.inflight.delete(record.tokenId)
    try {
      await this.deps.cache.markRevoked(record.tokenId, ttlMs)
    } catch (err) {
      this.metrics.cacheError()
      this.deps.logger.warn({ err, code: 'AUTH_ERR_CACHE' }, 'cache could not record a revocation')
      throw this.sharedCacheMissedRevocation()
    }
    this.metrics.revocation('sync')
  }

  /**
   * The revocation is durable in the store, but the shared cache (Redis) did not take it, so
   * another instance may still read a "valid" entry from Redis. Answering 200 would promise what
   * cannot be kept; 503 with Retry-After makes the client retry until Redis has it (the Redis
   * cache also replays missed revocations when it reconnects). In-process caches never throw here.
   */
  private sharedCacheMissedRevocation(): AuthError {
    return new AuthError('DEPENDENCY_UNAVAILABLE', { retryAfterS: 1, description: 'The revocation is stored but not yet visible to every instance; retry' })
  }

  /** Revocation and consumption state: in-memory pending state, then cache, then store. */
  private async state(tokenId: string, expiresAtMs: number): Promise<TokenState> {
    if (this.pendingRevocations.has(tokenId)) return { revoked: true, used: false }
    if (this.consumedOtts.has(tokenId)) return { revoked: false, used: true }
    let cached: TokenState | undefined
    try {
      cached = await this.deps.cache.get(tokenId)
    } catch {
      this.metrics.cacheError()
    }
    if (cached) return cached
    let flight = this.inflight.get(tokenId)
    if (!flight) {
      flight = this.deps.store.findTokenState(tokenId).then((r) => ({ revoked: r?.revokedAtMs != null, used: r?.usedAtMs != null }))
      this.inflight.set(tokenId, flight)
      const clear = (): void => {
        if (this.inflight.get(tokenId) === flight) this.inflight.delete(tokenId)
      }
      flight.then(clear, clear)
      const ttlMs = Math.min(this.deps.config.cacheTtlMs, expiresAtMs - Date.now())
      if (ttlMs > 0) {
        flight.then((s) => this.deps.cache.set(tokenId, s, ttlMs)).catch(() => this.metrics.cacheError())
      }
    }
    return flight
  }

  /** Exactly-once consumption of a one-time token, across instances where they share state. */
  private async consumeOtt(record: TokenRecord): Promise<boolean> {
    const nowMs = Date.now()
    const ttlMs = Math.max(1, record.expiresAtMs - nowMs)
    const pool = this.deps.revocations
    let claim: boolean | null = null
    try {
      claim = await this.deps.cache.claimOtt(record.tokenId, ttlMs)
    } catch {
      this.metrics.cacheError()
    }
    if (claim !== null) {
      // A shared cache arbitrated; persist the consumption for the record.
      if (!claim) return false
      this.inflight.delete(record.tokenId)
      if (!pool || !pool.submit({ kind: 'ott', record, atMs: nowMs })) await this.deps.store.markOttUsed([record], nowMs)
      return true
    }
    if (pool && this.deps.config.instances === 1) {
      // This process is the only one serving tokens: decide in memory (check and set without an
      // await between them) and persist off the request path.
      if (this.consumedOtts.has(record.tokenId)) return false
      this.consumedOtts.set(record.tokenId, record.expiresAtMs)
      this.inflight.delete(record.tokenId)
      await this.markUsedInCache(record.tokenId, ttlMs)
      if (!pool.submit({ kind: 'ott', record, atMs: nowMs })) await this.deps.store.markOttUsed([record], nowMs)
      return true
    }
    const won = await this.deps.store.consumeOtt(record, nowMs)
    if (won) {
      this.inflight.delete(record.tokenId)
      await this.markUsedInCache(record.tokenId, ttlMs)
    }
    return won
  }

  private async markUsedInCache(tokenId: string, ttlMs: number): Promise<void> {
    try {
      await this.deps.cache.markRevoked(tokenId, ttlMs)
    } catch {
      this.metrics.cacheError()
    }
  }

  stats(): { pendingRevocations: number; consumedOttsTracked: number; inflightLookups: number } {
    return { pendingRevocations: this.pendingRevocations.size, consumedOttsTracked: this.consumedOtts.size, inflightLookups: this.inflight.size }
  }

  close(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer)
  }
}

// A fixed, valid hash to compare against when the client id is unknown (timing equalisation).
const DUMMY_HASH = 'sha256$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='
