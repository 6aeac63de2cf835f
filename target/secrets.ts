// Client secret hashing. Secrets are stored only as salted SHA-256 and compared in constant time.
// Why not scrypt/argon2: client_credentials secrets are machine-generated and high-entropy (like API
// keys, which GitHub and Stripe store as SHA-256); a deliberately slow KDF would cost ~50 ms of CPU
// per POST /token and measure the KDF, not the service. A low-entropy sample secret is a demo only.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

const PREFIX = 'sha256'

export function hashSecret(secret: string, salt: Buffer = randomBytes(16)): string {
  const digest = createHash('sha256').update(salt).update(secret, 'utf8').digest()
  return `${PREFIX}$${salt.toString('base64')}$${digest.toString('base64')}`
}

/** Constant-time check of `secret` against a stored hash; false for any malformed hash. */
export function verifySecret(secret: string, stored: string): boolean {
  const parts = stored.split('$')
  if (parts.length !== 3 || parts[0] !== PREFIX) return false
  const salt = Buffer.from(parts[1] ?? '', 'base64')
  const expected = Buffer.from(parts[2] ?? '', 'base64')
  const actual = createHash('sha256').update(salt).update(secret, 'utf8').digest()
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}

/** SHA-256 of a token, hex: what the store keeps instead of the JWT, so a leaked table holds no usable token. */
export function hashToken(jwt: string): string {
  return createHash('sha256').update(jwt, 'utf8').digest('hex')
}
