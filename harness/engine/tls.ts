// Whether this process trusts a target's certificate without checking it (`--insecure`, as curl's
// `-k`): for HTTPS targets with a self-signed certificate, such as a service's own test setup.
// One process-wide switch rather than an option threaded through every caller, because every
// connection the harness opens to the target must agree (the drivers, the readiness and liveness
// probes, the /metrics scrape, the config read, and the scenarios' own seeding through fetch):
// a run where the probes verified and the load did not would measure a target nobody checked.
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Agent, setGlobalDispatcher } from 'undici'
import { TargetStartError } from '../errors.ts'

let insecure = false

/**
 * Trusts (or stops trusting) unverified certificates, for every connection of this process from
 * now on. undici's global dispatcher is replaced too, which Node's own fetch also uses, so a
 * scenario's seeding with fetch follows the same rule.
 */
export function trustUnverifiedCertificates(on: boolean): void {
  if (on === insecure) return
  insecure = on
  setGlobalDispatcher(new Agent(on ? { connect: { rejectUnauthorized: false } } : {}))
}

/** True after `--insecure`. */
export function trustsUnverifiedCertificates(): boolean {
  return insecure
}

/** TLS options for a connection to the target (empty for plain http, or when certificates are checked). */
export function tlsConnectOptions(): { rejectUnauthorized?: boolean } {
  return insecure ? { rejectUnauthorized: false } : {}
}

/** node:http's or node:https's `request` for `url`, with this process's certificate rule. */
export function requestTo(url: URL | string, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const target = typeof url === 'string' ? new URL(url) : url
  if (target.protocol === 'https:') return httpsRequest(target, { ...options, ...tlsConnectOptions() }, onResponse)
  return httpRequest(target, options, onResponse)
}

/**
 * For an https: URL whose certificate must be checked (no --insecure): one verifying GET, so an
 * untrusted certificate stops the run before any load with exit 2, whichever driver would send it.
 */
export async function checkCertificate(url: string, timeoutMs = 5_000): Promise<void> {
  if (!url.startsWith('https:') || insecure) return
  await new Promise<void>((resolve, reject) => {
    const req = requestTo(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => resolve())
      res.on('error', () => resolve())
    })
    req.on('timeout', () => req.destroy())
    // Only a refused certificate is this check's business; a target that does not answer is the run's.
    req.on('error', (error: Error & { code?: string }) => {
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(error.code ?? ''))
        reject(new TargetStartError(`${url}: the certificate is not trusted (${error.message}); pass --insecure to accept it`, '', error))
      else resolve()
    })
    req.end()
  })
}
