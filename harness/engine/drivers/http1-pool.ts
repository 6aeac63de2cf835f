// A minimal HTTP/1.1 client pool for the open-model driver: prebuilt request bytes written to
// keep-alive sockets, answers parsed by http-parser-js (the parser autocannon uses).
//
// Why by hand: the open model's ceiling is the generator's CPU per request. Through undici (even
// its bare Dispatcher interface) one core kept ~28,000 req/s against autocannon's ~79,000 in the
// closed model on the same target, because each request builds a Request object, validates and
// normalises its headers, and walks undici's handler chain. autocannon gets its rate by writing a
// prebuilt buffer to a raw socket and parsing the answer with http-parser-js; no maintained
// library offers that for an open (arrival-rate) schedule, so this is the same technique with the
// open driver's accounting. Plain http: only (the driver keeps undici for https:), one request in
// flight per connection (no pipelining), GET and POST with a string body.
import net from 'node:net'
import { HTTPParser } from 'http-parser-js'

export interface Http1Answer {
  status: number
  /** Header names and values, alternating, as they came on the wire. */
  rawHeaders: string[]
  /** The body, when the request asked for it; otherwise empty. */
  body: Buffer
  /** Bytes read for this answer: status line, headers and body as framed on the wire. */
  wireBytes: number
}

export interface Http1Request {
  method: string
  path: string
  headers?: Readonly<Record<string, string>>
  body?: string | null
}

export interface Http1Handler {
  /** Keep the body's bytes for onAnswer (otherwise only counted). */
  readonly keepBody: boolean
  onAnswer(answer: Http1Answer): void
  onError(error: Error & { code?: string }): void
}

export interface Http1PoolOptions {
  /** Sockets open at most; a dispatch beyond them throws (the caller bounds what is in flight). */
  connections: number
  /** An answer not complete this long after its request was written fails with ETIMEDOUT. */
  timeoutMs: number
  /**
   * An idle socket unused this long is closed rather than reused: a server closes idle keep-alive
   * connections after its own timeout (Node's default is 5 s), and a request written just as it
   * does would fail. undici's default is the same 4 s.
   */
  idleTimeoutMs?: number
  /**
   * Sockets being opened at once. A generator that falls a few milliseconds behind finds hundreds
   * of sends due together; opening a socket for each (connect on this side, accept on the
   * target's) made the target slower, the answers later and the next burst bigger, and one
   * hiccup at 65% of the ceiling spiralled into thousands of sockets. Past this many, a send waits
   * for a socket to free (the driver's backlog, with its start deadline). Default 16.
   */
  maxConnecting?: number
  /** Called when a socket has finished opening (or failed to), so a waiting send can go. */
  onCapacity?: () => void
}

const EMPTY = Buffer.alloc(0)
const DEFAULT_IDLE_TIMEOUT_MS = 4_000
const DEFAULT_MAX_CONNECTING = 16

/**
 * A failed request, with the network-level code undici or Node would give it (UND_ERR_SOCKET,
 * ETIMEDOUT, …) so that the driver's classifyFailure counts it as a reset or a timeout alike on
 * both transports. These describe the target's behaviour, not the harness's errors, so they are
 * not in the harness's error registry.
 */
function poolError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code })
}

/** The request's bytes: built once per request object that is sent again (a scenario's fixed spec). */
export function serializeRequest(host: string, request: Http1Request): Buffer {
  const body = request.body === undefined || request.body === null ? null : Buffer.from(request.body)
  let head = `${request.method} ${request.path} HTTP/1.1\r\n`
  let hasHost = false
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    const lower = name.toLowerCase()
    // The body's length is the one this client frames it with; a spec's own would disagree with it.
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw poolError('ERR_INVALID_HEADER', `header ${JSON.stringify(name)} contains a line break`)
    if (lower === 'host') hasHost = true
    head += `${name}: ${value}\r\n`
  }
  if (!hasHost) head += `host: ${host}\r\n`
  // A method whose request usually has a body says how long it is, also when it is empty.
  if (body !== null || request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH') head += `content-length: ${body?.length ?? 0}\r\n`
  head += '\r\n'
  const headBytes = Buffer.from(head, 'latin1')
  return body === null ? headBytes : Buffer.concat([headBytes, body])
}

class Connection {
  readonly socket: net.Socket
  readonly #parser = new HTTPParser(HTTPParser.RESPONSE)
  readonly #pool: Http1Pool
  handler: Http1Handler | null = null
  sentAtMs = 0
  idleSinceMs = 0
  closed = false
  connecting = true
  #status = 0
  #rawHeaders: string[] = []
  #keepAlive = true
  #chunks: Buffer[] = []
  #wireBytes = 0
  /** The answer to a HEAD has headers only, whatever content-length it announces. */
  #head = false

  constructor(pool: Http1Pool, port: number, hostname: string) {
    this.#pool = pool
    this.socket = net.connect({ port, host: hostname, noDelay: true })
    const parser = this.#parser
    parser[HTTPParser.kOnHeaders] = () => undefined
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      this.#status = info.statusCode
      this.#rawHeaders = info.headers
      this.#keepAlive = info.shouldKeepAlive
      // Non-zero: http-parser-js skips the body, as Node's own client does for HEAD.
      return this.#head ? 1 : 0
    }
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => {
      if (this.handler?.keepBody === true) this.#chunks.push(chunk.subarray(offset, offset + length))
    }
    parser[HTTPParser.kOnMessageComplete] = () => this.#complete()
    this.socket.on('data', (chunk: Buffer) => {
      if (this.handler === null) {
        // Bytes nobody asked for: the stream is out of step, and the socket cannot be trusted.
        this.#fail(poolError('UND_ERR_SOCKET', 'unexpected data on an idle connection'))
        return
      }
      this.#wireBytes += chunk.length
      const result = parser.execute(chunk)
      if (result instanceof Error) this.#fail(poolError('HPE_INVALID', `malformed response: ${result.message}`))
    })
    this.socket.once('connect', () => this.#connected())
    this.socket.on('error', (error: Error & { code?: string }) => this.#fail(error))
    // An Error (with its stack) only when a request is there to fail: every socket of the pool
    // closes at the end of a run.
    this.socket.on('close', () => {
      if (this.handler === null) this.close()
      else this.#fail(poolError('UND_ERR_SOCKET', 'other side closed'))
    })
  }

  #connected(): void {
    if (!this.connecting) return
    this.connecting = false
    this.#pool.connected()
  }

  send(bytes: Buffer, handler: Http1Handler, nowMs: number, head: boolean): void {
    this.handler = handler
    this.#head = head
    this.sentAtMs = nowMs
    this.#wireBytes = 0
    this.socket.write(bytes)
  }

  /** The answer is in: hand it over, then the socket is idle again (or closed, as the server asked). */
  #complete(): void {
    const handler = this.handler
    if (handler === null) return
    const answer: Http1Answer = {
      status: this.#status,
      rawHeaders: this.#rawHeaders,
      body: this.#chunks.length === 0 ? EMPTY : this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks),
      wireBytes: this.#wireBytes
    }
    this.handler = null
    this.#chunks = []
    this.#rawHeaders = []
    if (this.#keepAlive) this.#pool.release(this)
    else this.close()
    handler.onAnswer(answer)
  }

  #fail(error: Error & { code?: string }): void {
    const handler = this.handler
    this.handler = null
    this.close()
    handler?.onError(error)
  }

  /** Fails the request in flight (if any) and closes the socket. */
  timeout(): void {
    this.#fail(poolError('ETIMEDOUT', 'no answer within the request timeout'))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.socket.destroy()
    this.#pool.forget(this)
    this.#connected()
  }
}

export class Http1Pool {
  readonly #port: number
  readonly #hostname: string
  readonly #host: string
  readonly #options: Required<Omit<Http1PoolOptions, 'onCapacity'>> & Pick<Http1PoolOptions, 'onCapacity'>
  readonly #idle: Connection[] = []
  readonly #all = new Set<Connection>()
  readonly #bytes = new WeakMap<object, Buffer>()
  readonly #sweeper: NodeJS.Timeout
  #destroyed = false
  #connecting = 0

  constructor(origin: string, options: Http1PoolOptions) {
    const url = new URL(origin)
    if (url.protocol !== 'http:') throw poolError('ERR_INVALID_PROTOCOL', `the HTTP/1.1 pool speaks plain http:, not ${url.protocol}`)
    this.#hostname = url.hostname.replace(/^\[|\]$/g, '')
    this.#port = url.port === '' ? 80 : Number(url.port)
    this.#host = url.host
    this.#options = { idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS, maxConnecting: DEFAULT_MAX_CONNECTING, ...options }
    // One sweep for every timeout instead of a timer per request: at tens of thousands of requests
    // a second, arming and clearing a timer each was measurable, and a timeout is a failure whose
    // exact millisecond does not matter.
    const sweepMs = Math.max(10, Math.min(250, this.#options.timeoutMs / 4))
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs)
    this.#sweeper.unref()
  }

  get openConnections(): number {
    return this.#all.size
  }

  /** Whether a dispatch now would find a socket: an idle one, or room to open one. */
  canSend(): boolean {
    const now = performance.now()
    const idle = this.#idle
    while (idle.length > 0 && now - (idle[idle.length - 1] as Connection).idleSinceMs > this.#options.idleTimeoutMs) (idle.pop() as Connection).close()
    return idle.length > 0 || (this.#all.size < this.#options.connections && this.#connecting < this.#options.maxConnecting)
  }

  /**
   * Sends `request` on an idle socket, or on a new one while fewer than `connections` are open and
   * fewer than `maxConnecting` are opening; throws when neither (check canSend first).
   * `request` is serialised once and its bytes reused when the same frozen object is sent again.
   */
  dispatch(request: Http1Request, handler: Http1Handler): void {
    if (this.#destroyed) throw poolError('UND_ERR_DESTROYED', 'the pool is destroyed')
    let bytes = this.#bytes.get(request)
    if (bytes === undefined) {
      bytes = serializeRequest(this.#host, request)
      if (Object.isFrozen(request)) this.#bytes.set(request, bytes)
    }
    if (!this.canSend()) throw poolError('UND_ERR_POOL_FULL', `all ${this.#all.size} connections are busy (at most ${this.#options.connections}, ${this.#connecting} opening)`)
    let connection = this.#idle.pop()
    if (connection === undefined) {
      connection = new Connection(this, this.#port, this.#hostname)
      this.#all.add(connection)
      this.#connecting++
    }
    connection.send(bytes, handler, performance.now(), request.method === 'HEAD')
  }

  /** A socket finished opening, or failed to. */
  connected(): void {
    this.#connecting--
    if (!this.#destroyed) this.#options.onCapacity?.()
  }

  release(connection: Connection): void {
    if (connection.closed || this.#destroyed) return
    connection.idleSinceMs = performance.now()
    this.#idle.push(connection)
  }

  forget(connection: Connection): void {
    this.#all.delete(connection)
    const at = this.#idle.indexOf(connection)
    if (at >= 0) this.#idle.splice(at, 1)
  }

  #sweep(): void {
    const now = performance.now()
    for (const connection of this.#all) {
      if (connection.handler !== null && now - connection.sentAtMs > this.#options.timeoutMs) connection.timeout()
    }
  }

  /** Closes every socket; requests in flight fail (their handlers see an error). */
  destroy(): Promise<void> {
    this.#destroyed = true
    clearInterval(this.#sweeper)
    for (const connection of [...this.#all]) connection.close()
    this.#idle.length = 0
    return Promise.resolve()
  }
}
