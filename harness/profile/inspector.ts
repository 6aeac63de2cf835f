// A DevTools-protocol session with one Node process's inspector, over `ws`. Only the commands the
// profiler needs go through it (Profiler.enable / setSamplingInterval / start / stop); the
// Debugger domain is never enabled, so the target's code is not deoptimised or paused.
import WebSocket from 'ws'
import type { CpuProfile } from './cpuprofile.ts'

export interface InspectorSession {
  readonly url: string
  send<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T>
  /** Subscribes to protocol events; returns the unsubscribe. */
  onEvent(fn: (method: string, params: unknown) => void): () => void
  close(): Promise<void>
}

const CONNECT_TIMEOUT_MS = 5_000
const COMMAND_TIMEOUT_MS = 30_000

/** Opens the WebSocket, or rejects within CONNECT_TIMEOUT_MS. */
async function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`inspector ${url} did not answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS)
    ws.once('open', () => {
      clearTimeout(timer)
      resolve()
    })
    ws.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
  return ws
}

type Pending = Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>
type EventListener = (method: string, params: unknown) => void

/** Routes the inspector's messages: answers to their pending commands, events to the listeners; a close fails what is pending. */
function routeMessages(ws: WebSocket, url: string, pending: Pending, listeners: ReadonlySet<EventListener>): void {
  const failAll = (err: Error): void => {
    for (const p of pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    pending.clear()
  }
  ws.on('message', (data: WebSocket.RawData) => {
    let msg: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message?: string } }
    try {
      msg = JSON.parse(data.toString()) as typeof msg
    } catch {
      return
    }
    if (msg.id === undefined) {
      if (msg.method !== undefined) for (const fn of listeners) fn(msg.method, msg.params)
      return
    }
    const p = pending.get(msg.id)
    if (p === undefined) return
    pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.error !== undefined) p.reject(new Error(`inspector: ${msg.error.message ?? 'error'}`))
    else p.resolve(msg.result)
  })
  ws.on('close', () => failAll(new Error(`inspector ${url} closed`)))
  ws.on('error', (err) => failAll(err))
}

/** Closes the socket; a target that is already going away may never answer the close frame. */
function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) {
      resolve()
      return
    }
    ws.once('close', () => resolve())
    ws.close()
    setTimeout(() => {
      ws.terminate()
      resolve()
    }, 1_000).unref()
  })
}

/** Connects to a `ws://127.0.0.1:<port>/<uuid>` inspector URL (loopback only: it is a debugger). */
export async function connectInspector(url: string): Promise<InspectorSession> {
  const host = new URL(url).hostname
  if (host !== '127.0.0.1' && host !== '::1' && host !== '[::1]' && host !== 'localhost') throw new Error(`refusing a non-loopback inspector at ${url}`)
  const ws = await openSocket(url)
  let nextId = 1
  const pending: Pending = new Map()
  const listeners = new Set<EventListener>()
  routeMessages(ws, url, pending, listeners)
  return {
    url,
    onEvent: (fn) => {
      listeners.add(fn)
      return () => {
        listeners.delete(fn)
      }
    },
    send: <T>(method: string, params: Record<string, unknown> = {}): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (ws.readyState !== WebSocket.OPEN) {
          reject(new Error(`inspector ${url} is not open`))
          return
        }
        const id = nextId++
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`inspector ${method} got no answer within ${COMMAND_TIMEOUT_MS} ms`))
        }, COMMAND_TIMEOUT_MS)
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer })
        ws.send(JSON.stringify({ id, method, params }))
      }),
    close: () => closeSocket(ws)
  }
}

/** Profiler.enable + setSamplingInterval + start. */
export async function startProfiler(session: InspectorSession, samplingIntervalUs: number): Promise<void> {
  await session.send('Profiler.enable')
  await session.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs })
  await session.send('Profiler.start')
}

export async function stopProfiler(session: InspectorSession): Promise<CpuProfile> {
  const { profile } = await session.send<{ profile: CpuProfile }>('Profiler.stop')
  return profile
}

/** The inspector URLs a Node process (and its cluster workers) announce on stderr. */
export const INSPECTOR_ANNOUNCE = /Debugger listening on (ws:\/\/\S+)/g
