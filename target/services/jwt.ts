// JWT signing and verification with fast-jwt (HS256 only: `alg: none` and every other algorithm
// is refused). The verifier caches successful verifications, which fast-jwt bounds by the token's
// own exp/nbf, so a cached token can never outlive its expiry; revocation is checked separately.
import { randomBytes } from 'node:crypto'
import { TokenError, createSigner, createVerifier } from 'fast-jwt'
import { AuthError } from '../errors.ts'
import type { TokenRecord, TokenType } from '../domain.ts'
import { hashToken } from '../secrets.ts'

export interface TokenClaims {
  client_id: string
  token_id: string
  token_type: TokenType
  scopes: string[]
  exp: number
  iat: number
  nbf: number
  iss: string
}

const TOKEN_ID_RE = /^[0-9a-f]{32}$/
/** A JWT this service issues is well under 1 KiB; anything far larger is not ours. */
export const MAX_JWT_LENGTH = 4096

export interface JwtServiceOptions {
  secret: string
  issuer: string
  verifierCacheSize: number
}

export class JwtService {
  private readonly sign: (payload: TokenClaims) => string
  private readonly verifyStrict: (token: string) => unknown
  private readonly verifyIgnoringExpiry: (token: string) => unknown

  constructor(private readonly options: JwtServiceOptions) {
    this.sign = createSigner({ key: options.secret, algorithm: 'HS256' })
    // fast-jwt checks iss, exp and nbf only when present: a token signed with our key but missing
    // one of them is not one we issued (found by the fuzz suite: such a token could be revoked).
    const common = { key: options.secret, algorithms: ['HS256' as const], allowedIss: options.issuer, requiredClaims: ['iss', 'exp', 'iat', 'nbf'] }
    this.verifyStrict = createVerifier({ ...common, cache: options.verifierCacheSize > 0 ? options.verifierCacheSize : false })
    this.verifyIgnoringExpiry = createVerifier({ ...common, ignoreExpiration: true, cache: false })
  }

  /** Issue a token; returns the JWT and the record to persist. */
  issue(clientId: string, scopes: string[], tokenType: TokenType, ttlS: number, nowMs = Date.now()): { jwt: string; record: TokenRecord } {
    const iat = Math.floor(nowMs / 1000)
    const claims: TokenClaims = {
      client_id: clientId,
      token_id: randomBytes(16).toString('hex'),
      token_type: tokenType,
      scopes,
      exp: iat + ttlS,
      iat,
      nbf: iat,
      iss: this.options.issuer
    }
    const jwt = this.sign(claims)
    return { jwt, record: recordFromClaims(claims, jwt) }
  }

  /** Verify signature, algorithm, issuer and time claims; throws a 401 AuthError otherwise. */
  verify(jwt: string, options: { ignoreExpiration?: boolean } = {}): TokenClaims {
    if (jwt.length === 0 || jwt.length > MAX_JWT_LENGTH) throw new AuthError('INVALID_TOKEN')
    let payload: unknown
    try {
      payload = options.ignoreExpiration ? this.verifyIgnoringExpiry(jwt) : this.verifyStrict(jwt)
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) throw new AuthError('EXPIRED_TOKEN')
      throw new AuthError('INVALID_TOKEN')
    }
    return assertClaims(payload)
  }
}

function assertClaims(p: unknown): TokenClaims {
  // The signature proves we issued it, but a token from an older build (or a test) could still
  // lack a claim: refuse anything whose shape we would not have produced.
  const c = p as Partial<TokenClaims> | null
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.client_id !== 'string' ||
    typeof c.token_id !== 'string' ||
    !TOKEN_ID_RE.test(c.token_id) ||
    (c.token_type !== 'N' && c.token_type !== 'O') ||
    !Array.isArray(c.scopes) ||
    !c.scopes.every((s) => typeof s === 'string') ||
    typeof c.exp !== 'number' ||
    typeof c.iat !== 'number'
  ) {
    throw new AuthError('INVALID_TOKEN')
  }
  return c as TokenClaims
}

export function recordFromClaims(c: TokenClaims, jwt: string): TokenRecord {
  return {
    tokenId: c.token_id,
    tokenHash: hashToken(jwt),
    tokenType: c.token_type,
    clientId: c.client_id,
    scopes: c.scopes,
    issuedAtMs: c.iat * 1000,
    expiresAtMs: c.exp * 1000,
    revokedAtMs: null,
    usedAtMs: null
  }
}
