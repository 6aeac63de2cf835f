// Load goes to loopback only, unless the user says otherwise: a load tool pointed at someone
// else's host by a typo is an attack. Names other than `localhost` are refused without a DNS
// lookup, because what a name resolves to can change between this check and the first request.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { InvalidUrlError, RemoteTargetError } from '../errors.ts'

export function isLoopbackAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const family = isIP(bare)
  if (family === 4) return bare.startsWith('127.')
  if (family === 6) {
    const lower = bare.toLowerCase()
    if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true
    // IPv4-mapped IPv6 (::ffff:127.0.0.1); WHATWG URL writes it in hex (::ffff:7f00:1).
    const mapped = /^::ffff:(.+)$/.exec(lower)?.[1]
    if (mapped === undefined) return false
    if (isIP(mapped) === 4) return mapped.startsWith('127.')
    const hex = /^([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(mapped)?.[1]
    return hex !== undefined && parseInt(hex, 16) >> 8 === 127
  }
  return false
}

/** Throws RemoteTargetError (AUTHBENCH_ERR_REMOTE_TARGET) unless `url` is on loopback or allowRemote. */
export async function assertLoopback(url: string, allowRemote = false): Promise<void> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (error) {
    throw new InvalidUrlError(url, error)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidUrlError(url)
  if (allowRemote) return
  const host = parsed.hostname
  if (isLoopbackAddress(host)) return
  if (host.toLowerCase() === 'localhost' || host.toLowerCase() === 'localhost.') {
    // /etc/hosts can map localhost anywhere; trust what it resolves to, not the name.
    const addresses = await lookup('localhost', { all: true }).catch(() => [])
    if (addresses.length > 0 && addresses.every((entry) => isLoopbackAddress(entry.address))) return
  }
  throw new RemoteTargetError(url, host)
}
