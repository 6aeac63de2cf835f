// Integration tests talk to the real PostgreSQL and Redis. These helpers find them: a URL when the
// service answers; when it does not, a thrown error under CI=true (the CI machine has both, so a
// skip there would hide a regression) and otherwise null plus a printed line naming what is skipped.
import net from 'node:net'
import { randomBytes } from 'node:crypto'

export const DEFAULT_DATABASE_URL_TEST = 'postgres://postgres@127.0.0.1:5432/test'
export const DEFAULT_REDIS_URL_TEST = 'redis://127.0.0.1:6379/15'

const isCi = (): boolean => process.env.CI === 'true' || process.env.CI === '1'

function reachable(url: string, defaultPort: number, timeoutMs = 1_000): Promise<boolean> {
  const u = new URL(url)
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1'
  const port = Number(u.port || defaultPort)
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function resolveService(name: string, envVar: string, url: string, defaultPort: number, what: string): Promise<string | null> {
  if (await reachable(url, defaultPort)) return url
  const msg = `${name} is not reachable at ${url.replace(/\/\/[^@/]*@/, '//***@')} (set ${envVar})`
  if (isCi()) throw new Error(`${msg}; CI=true requires it`)
  console.warn(`[skip] ${msg}: skipping ${what}`)
  return null
}

/** The test database URL, or null (with a printed notice) when PostgreSQL is not running. */
export function postgresUrl(what = 'the PostgreSQL tests'): Promise<string | null> {
  return resolveService('PostgreSQL', 'DATABASE_URL_TEST', process.env.DATABASE_URL_TEST ?? DEFAULT_DATABASE_URL_TEST, 5432, what)
}

/** The test Redis URL, or null (with a printed notice) when Redis is not running. */
export function redisUrl(what = 'the Redis tests'): Promise<string | null> {
  return resolveService('Redis', 'REDIS_URL_TEST', process.env.REDIS_URL_TEST ?? DEFAULT_REDIS_URL_TEST, 6379, what)
}

/** A fresh lower-case identifier for a per-file schema or key prefix. */
export function uniqueName(base: string): string {
  return `${base}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_')
}
