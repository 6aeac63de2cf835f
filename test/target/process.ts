// Run the real target process (node --import tsx target/server.ts) for the start-up and shutdown
// tests: a free port, the stderr line that says it listens, and its exit. Not the harness's
// TargetProcess (harness/engine/target-process.ts), which waits until the target answers and so cannot
// observe a process that refuses its configuration and exits 2 before listening.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { SECRET } from './helpers.ts'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export interface ServerProcess {
  child: ChildProcess
  stderr: () => string
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>
}

export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'target/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', JWT_SECRET: SECRET, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  child.stdout?.resume()
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')))
  return { child, stderr: () => err, exited }
}

/** Wait for the "listening on http://host:port" line; rejects if the process exits first. */
export async function listening(p: ServerProcess, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  let exitedWith: number | string | undefined
  void p.exited.then((c) => {
    exitedWith = c
  })
  for (;;) {
    const m = /listening on (http:\/\/[^\s]+)/.exec(p.stderr())
    if (m?.[1]) return m[1]
    if (exitedWith !== undefined) throw new Error(`target exited (${exitedWith}) before listening: ${p.stderr()}`)
    if (Date.now() > deadline) throw new Error(`target did not listen within ${timeoutMs} ms: ${p.stderr()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Resolve with the exit code, or 'timeout' (and kill the process) after `ms`. */
export async function exitWithin(p: ServerProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    p.exited,
    new Promise<string>((r) => {
      timer = setTimeout(() => r('timeout'), ms)
    })
  ])
  clearTimeout(timer)
  if (result === 'timeout') {
    p.child.kill('SIGKILL')
    await p.exited
  }
  return result
}
