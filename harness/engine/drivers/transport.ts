// How the open and journey drivers put a request on the wire: the raw HTTP/1.1 pool for http:
// (prebuilt bytes, http-parser-js; see http1-pool.ts for why by hand) and undici's Dispatcher
// interface for https:, behind one shape, so each driver keeps only its own accounting.
import { Pool } from 'undici'
import { Http1Pool } from './http1-pool.ts'
import type { Http1Request } from './http1-pool.ts'
import { tlsConnectOptions } from '../tls.ts'

export type HeadersRecord = Record<string, string | string[] | undefined>

export interface TransportAnswer {
  status: number
  /** Built only when asked for: most answers are counted, not read. */
  headers(): HeadersRecord
  body: Buffer
  /** Status line, headers and body as framed on the wire (approximate through undici). */
  wireBytes: number
}

export interface TransportHandler {
  readonly keepBody: boolean
  onAnswer(answer: TransportAnswer): void
  onError(error: Error & { code?: string }): void
}

export interface TransportOptions {
  /** Sockets (and requests in flight) at most. */
  connections: number
  timeoutMs: number
  /** Called when a socket finished opening: a send that found no room may go now. */
  onCapacity?: () => void
  /** 'http1' (default for http:) or 'undici' (default, and the only choice, for https:). */
  kind?: 'http1' | 'undici'
}

const EMPTY = Buffer.alloc(0)

export interface Transport {
  /** Whether a send now would find a socket. */
  canSend(): boolean
  /** Sends `request`; throws when !canSend() (the caller bounds what is in flight). */
  send(request: Http1Request, handler: TransportHandler): void
  destroy(): Promise<void>
}

export function createTransport(origin: string, options: TransportOptions): Transport {
  const kind = options.kind ?? (origin.startsWith('http:') ? 'http1' : 'undici')
  return kind === 'http1' ? http1Transport(origin, options) : undiciTransport(origin, options)
}

function http1Transport(origin: string, options: TransportOptions): Transport {
  const pool = new Http1Pool(origin, {
    connections: options.connections,
    timeoutMs: options.timeoutMs,
    ...(options.onCapacity === undefined ? {} : { onCapacity: options.onCapacity })
  })
  return {
    canSend: () => pool.canSend(),
    send: (request, handler) =>
      pool.dispatch(request, {
        keepBody: handler.keepBody,
        onAnswer: (answer) => handler.onAnswer({ status: answer.status, headers: () => headersRecord(answer.rawHeaders), body: answer.body, wireBytes: answer.wireBytes }),
        onError: (error) => handler.onError(error)
      }),
    destroy: () => pool.destroy()
  }
}

// undici through its Dispatcher interface rather than pool.request(), which wraps every response
// in a body stream and promises. The body is kept only when asked for; otherwise only its length counts.
function undiciTransport(origin: string, options: TransportOptions): Transport {
  const pool = new Pool(origin, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connect: { timeout: options.timeoutMs, ...tlsConnectOptions() }
  })
  let inFlight = 0
  return {
    canSend: () => inFlight < options.connections,
    send: (request, handler) => {
      const chunks: Buffer[] | null = handler.keepBody ? [] : null
      let statusCode = 0
      let headers: HeadersRecord = {}
      let bodyBytes = 0
      inFlight++
      const settle = (): void => void inFlight--
      pool.dispatch(
        { method: request.method as 'GET', path: request.path, headers: { ...request.headers }, body: request.body ?? null },
        {
          onRequestStart: () => undefined,
          onResponseStart: (_controller, status, responseHeaders) => {
            statusCode = status
            headers = responseHeaders
          },
          onResponseData: (_controller, chunk) => {
            bodyBytes += chunk.length
            chunks?.push(chunk)
          },
          onResponseEnd: () => {
            settle()
            const body = chunks === null ? EMPTY : Buffer.concat(chunks)
            handler.onAnswer({ status: statusCode, headers: () => headers, body, wireBytes: bodyBytes + headerBytes(headers) })
          },
          onResponseError: (_controller, error) => {
            settle()
            handler.onError(error)
          }
        }
      )
    },
    destroy: () => pool.destroy().catch(() => undefined)
  }
}

/** Raw alternating header names and values as a record (names lower-case; a repeated header is a list). */
export function headersRecord(raw: string[]): HeadersRecord {
  const record: HeadersRecord = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    const seen = record[name]
    record[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return record
}

/** Approximate bytes of the status line and headers, so `bytes` means wire bytes on both transports. */
function headerBytes(headers: HeadersRecord): number {
  let bytes = 17 // "HTTP/1.1 200 OK\r\n"
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    if (Array.isArray(value)) for (const v of value) bytes += name.length + v.length + 4
    else bytes += name.length + value.length + 4
  }
  return bytes + 2
}
