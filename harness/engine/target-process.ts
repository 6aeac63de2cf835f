// The reference target as its own child process, never in the generator's process: started with
// its preset and overrides, pinned to its own core when it can be, waited for until it answers,
// stopped with SIGTERM then SIGKILL, and watched, so that a crash or a hang mid-trial stops the
// engine within seconds instead of leaving it waiting on a dead socket.
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { requestTo } from './tls.ts'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { cpus } from 'node:os'
import { dirname, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TargetDefinition } from '../api.ts'
import { TargetCrashedError, TargetStartError, TargetUnresponsiveError } from '../errors.ts'

export const REPO_ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface TargetProcessOptions {
  /** Working directory the target runs in. Default: the repository root. */
  cwd?: string
  /** Executable to run (`node` means this Node binary); with it, `args` replace nodeArgs and script. */
  command?: string
  args?: readonly string[]
  /** Environment variables the port and host are passed in. Default PORT and HOST. */
  portEnv?: string
  hostEnv?: string
  /** Signal that asks the target to stop (SIGKILL follows after stopTimeoutMs). Default SIGTERM. */
  stopSignal?: NodeJS.Signals
  /** A Node script to run, relative to cwd (when no `command` is given). */
  script?: string
  /** Node flags before the script. Default ['--import', 'tsx']. */
  nodeArgs?: string[]
  host?: string
  /** 0 picks a free port. Default 0. */
  port?: number
  /** Extra environment (target overrides), on top of this process's environment. */
  env?: Record<string, string | undefined>
  /**
   * CPU list for `taskset -c`. 'auto' pins to core 0 when taskset exists and there are ≥ 2
   * cores; null never pins. Default 'auto'.
   */
  pinCpus?: string | 'auto' | null
  readinessPath?: string
  /** The target serves HTTPS (its URL, probes and load use TLS). Default http. */
  protocol?: 'http' | 'https'
  readyTimeoutMs?: number
  stopTimeoutMs?: number
  /** Bytes of stderr (and stdout) kept for error messages. Default 8 KiB. */
  tailBytes?: number
  /** Sees the target's stderr as it comes (e.g. the inspector's "Debugger listening on …" lines). */
  onStderr?: (chunk: string) => void
}

export interface TargetExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** True when the harness asked it to stop. */
  expected: boolean
}

class Tail {
  #text = ''
  constructor(readonly maxBytes: number) {}
  push(chunk: Buffer): void {
    this.#text += chunk.toString('utf8')
    if (this.#text.length > this.maxBytes * 2) this.#text = this.#text.slice(-this.maxBytes)
  }

  toString(): string {
    return this.#text.slice(-this.maxBytes)
  }
}

/**
 * A running target. Events: 'crash' (TargetCrashedError) when it exits without being asked to,
 * 'exit' (TargetExit) always. `crashSignal` aborts on a crash, with the error as its reason, so the
 * engine can hand AbortSignal.any([userSignal, target.crashSignal]) to a driver.
 */
export class TargetProcess extends EventEmitter {
  readonly url: string
  readonly host: string
  readonly port: number
  readonly pinnedCpus: string | null
  readonly exited: Promise<TargetExit>
  readonly #child: ChildProcess
  readonly #stderr: Tail
  readonly #stdout: Tail
  readonly #crash = new AbortController()
  readonly #stopTimeoutMs: number
  #stopping = false
  #exit: TargetExit | undefined
  readonly #killOnParentExit = (): void => {
    this.#child.kill('SIGKILL')
  }

  readonly #stopSignal: NodeJS.Signals
  readonly #command: string

  private constructor(
    child: ChildProcess,
    init: {
      host: string
      port: number
      pinnedCpus: string | null
      protocol: 'http' | 'https'
      tailBytes: number
      stopTimeoutMs: number
      stopSignal: NodeJS.Signals
      command: string
      onStderr?: (chunk: string) => void
    }
  ) {
    super()
    this.#child = child
    this.host = init.host
    this.port = init.port
    this.url = `${init.protocol}://${init.host.includes(':') ? `[${init.host}]` : init.host}:${init.port}`
    this.pinnedCpus = init.pinnedCpus
    this.#stderr = new Tail(init.tailBytes)
    this.#stdout = new Tail(init.tailBytes)
    this.#stopTimeoutMs = init.stopTimeoutMs
    this.#stopSignal = init.stopSignal
    this.#command = init.command
    // Both pipes must be drained: a chatty target blocks on a full stdout pipe otherwise.
    child.stdout?.on('data', (chunk: Buffer) => this.#stdout.push(chunk))
    const onStderr = init.onStderr
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr.push(chunk)
      onStderr?.(chunk.toString('utf8'))
    })
    process.once('exit', this.#killOnParentExit)
    this.exited = new Promise<TargetExit>((resolve) => {
      child.once('exit', (code, signal) => {
        process.removeListener('exit', this.#killOnParentExit)
        const exit: TargetExit = { code, signal, expected: this.#stopping }
        this.#exit = exit
        if (!exit.expected) {
          const error = new TargetCrashedError(code, signal, this.stderrTail())
          this.#crash.abort(error)
          if (this.listenerCount('crash') > 0) this.emit('crash', error)
        }
        this.emit('exit', exit)
        resolve(exit)
      })
    })
  }

  static async start(options: TargetProcessOptions = {}): Promise<TargetProcess> {
    const cwd = options.cwd ?? REPO_ROOT
    const host = options.host ?? '127.0.0.1'
    const port = options.port !== undefined && options.port !== 0 ? options.port : await findFreePort(host)
    const pinCpus = options.pinCpus === undefined || options.pinCpus === 'auto' ? (canPin() ? '0' : null) : options.pinCpus
    const nodeCommand =
      options.command !== undefined
        ? [options.command === 'node' ? process.execPath : options.command, ...(options.args ?? [])]
        : options.script !== undefined
          ? [process.execPath, ...(options.nodeArgs ?? ['--import', 'tsx']), options.script]
          : null
    if (nodeCommand === null) throw new TypeError('startTarget needs a command (a target definition) or a script')
    // Start-up runs on every core and the target is pinned once it answers: the two targets of an
    // `ab` pair start together, and on one shared core each took about twice as long (~1.5 s
    // instead of ~0.75 s here, on every pair). Every core is named explicitly: a child inherits
    // the spawning thread's affinity, and the generator has pinned itself to core 1.
    const startCpus = `0-${cpus().length - 1}`
    const [command, ...args] = pinCpus !== null && tasksetPath() !== null ? [tasksetPath() as string, '-c', startCpus, ...nodeCommand] : nodeCommand
    // The seeding route (POST /debug/tokens) and /debug/stats are on for the targets the harness
    // starts; the user's environment or the options can still turn them off.
    const env: NodeJS.ProcessEnv = { DEBUG_ROUTES: 'true', ...process.env, ...options.env, [options.portEnv ?? 'PORT']: String(port), [options.hostEnv ?? 'HOST']: host }
    // taskset execs node in place, so the child's pid is the target's and signals reach it.
    const child = spawn(command as string, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const target = new TargetProcess(child, {
      host,
      port,
      pinnedCpus: pinCpus !== null && tasksetPath() !== null ? pinCpus : null,
      protocol: options.protocol ?? 'http',
      tailBytes: options.tailBytes ?? 8192,
      stopTimeoutMs: options.stopTimeoutMs ?? 5000,
      stopSignal: options.stopSignal ?? 'SIGTERM',
      command: nodeCommand.join(' '),
      ...(options.onStderr === undefined ? {} : { onStderr: options.onStderr })
    })
    const spawnError = new Promise<never>((_resolve, reject) => {
      child.once('error', (error) => reject(new TargetStartError(`could not start the target (${nodeCommand.join(' ')}): ${error.message}`, '', error)))
    })
    spawnError.catch(() => {})
    try {
      await Promise.race([target.#waitReady(options.readinessPath ?? '/', options.readyTimeoutMs ?? 20_000), spawnError])
      // Every thread, not just the main one (V8's and libuv's threads do the target's work too),
      // and every process: a preset with instances > 1 forks cluster workers during start-up.
      if (target.pinnedCpus !== null && child.pid !== undefined) {
        for (const pid of [child.pid, ...(await descendantsOf(child.pid))]) {
          if (!(await pinProcess(pid, target.pinnedCpus, true))) {
            throw new TargetStartError(`could not pin the target (pid ${pid}) to CPU ${target.pinnedCpus} with taskset`, target.stderrTail())
          }
        }
      }
    } catch (error) {
      await target.stop()
      throw error
    }
    return target
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  get running(): boolean {
    return this.#exit === undefined
  }

  get crashSignal(): AbortSignal {
    return this.#crash.signal
  }

  stderrTail(): string {
    return this.#stderr.toString()
  }

  stdoutTail(): string {
    return this.#stdout.toString()
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs. Resolves with the exit (at once if it already exited). */
  async stop(): Promise<TargetExit> {
    if (this.#exit !== undefined) return this.#exit
    this.#stopping = true
    this.#child.kill(this.#stopSignal)
    const timer = setTimeout(() => {
      this.#child.kill('SIGKILL')
    }, this.#stopTimeoutMs)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }

  async #waitReady(path: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let lastError: unknown
    while (Date.now() < deadline) {
      if (this.#exit !== undefined) {
        throw new TargetStartError(`the target (${this.#command}) exited during start-up (code ${String(this.#exit.code)}, signal ${String(this.#exit.signal)})`, this.stderrTail())
      }
      try {
        const status = await probe(`${this.url}${path}`, Math.min(1000, Math.max(100, deadline - Date.now())))
        if (status >= 200 && status < 300) return
        lastError = new Error(`readiness probe answered ${status}`)
      } catch (error) {
        lastError = error
        // A certificate that is not trusted will not become trusted by waiting: say so now.
        if (isCertificateError(error)) break
      }
      await sleep(100)
    }
    if (isCertificateError(lastError))
      throw new TargetStartError(
        `the target (${this.#command}) answered at ${this.url}${path} with a certificate that is not trusted (${(lastError as Error).message}); for a self-signed certificate, give --insecure`,
        this.stderrTail(),
        lastError
      )
    const reason = lastError instanceof Error ? `: ${lastError.message}` : ''
    throw new TargetStartError(
      `the target (${this.#command}) was not ready: readiness path ${path} did not answer 2xx at ${this.url}${path} within ${timeoutMs} ms${reason}`,
      this.stderrTail(),
      lastError
    )
  }
}

export function startTarget(options: TargetProcessOptions = {}): Promise<TargetProcess> {
  return TargetProcess.start(options)
}

/** Process options for a declared target with extra environment (a variant's, overrides). */
export function targetProcessOptions(def: TargetDefinition, env: Readonly<Record<string, string>> = {}): TargetProcessOptions {
  return {
    cwd: def.start.cwd ?? process.cwd(),
    command: def.start.command,
    args: def.start.args ?? [],
    env: { ...def.start.env, ...env },
    ...(def.start.portEnv === undefined ? {} : { portEnv: def.start.portEnv }),
    ...(def.start.hostEnv === undefined ? {} : { hostEnv: def.start.hostEnv }),
    readinessPath: def.readiness.path,
    ...(def.start.protocol === undefined ? {} : { protocol: def.start.protocol }),
    ...(def.readiness.timeoutMs === undefined ? {} : { readyTimeoutMs: def.readiness.timeoutMs }),
    ...(def.stop?.signal === undefined ? {} : { stopSignal: def.stop.signal }),
    ...(def.stop?.graceMs === undefined ? {} : { stopTimeoutMs: def.stop.graceMs })
  }
}

/** One GET on its own connection; resolves with the status after reading the body. */
export function probe(url: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = requestTo(url, { method: 'GET', agent: false, timeout: timeoutMs, signal }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`health probe timed out after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

let tasksetCache: string | null | undefined
function tasksetPath(): string | null {
  if (tasksetCache !== undefined) return tasksetCache
  tasksetCache = null
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (process.platform === 'linux' && dir !== '' && existsSync(`${dir}/taskset`)) {
      tasksetCache = `${dir}/taskset`
      break
    }
  }
  return tasksetCache
}

/**
 * Pinning needs taskset (Linux) and at least two cores: one for the target, one for the load.
 * It counts the machine's cores (os.cpus()), not availableParallelism(): once the generator has
 * pinned itself to core 1, availableParallelism() reports 1, and a target started after that would
 * silently inherit the generator's core.
 */
export function canPin(): boolean {
  return tasksetPath() !== null && cpus().length >= 2
}

/**
 * Every descendant process of `pid`, children before grandchildren. Written by hand: pinning is
 * Linux-only (taskset), and /proc answers directly, where pidtree or ps-tree would spawn `ps`.
 */
export async function descendantsOf(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>()
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null)
    if (stat === null) continue
    // "pid (comm) state ppid …": comm may hold spaces or parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c)
      queue.push(c)
    }
  }
  return out
}

/** `taskset [-a] -pc <cpus> <pid>` (-a: every thread); resolves false when pinning is unavailable or refused. */
export function pinProcess(pid: number, cpus: string, allThreads = false): Promise<boolean> {
  const taskset = tasksetPath()
  if (taskset === null) return Promise.resolve(false)
  return new Promise<boolean>((resolve) => {
    execFile(taskset, [...(allThreads ? ['-a'] : []), '-pc', cpus, String(pid)], (error) => resolve(error === null))
  })
}

/** Pins this (the generator's) process to core 1 when pinning is possible; returns the CPU list or null. */
export async function pinGenerator(cpus = '1'): Promise<string | null> {
  if (!canPin()) return null
  return (await pinProcess(process.pid, cpus)) ? cpus : null
}

export interface LivenessOptions {
  path?: string
  intervalMs?: number
  /** Consecutive failed probes before the target is declared dead. Default 3. */
  failures?: number
  probeTimeoutMs?: number
}

export interface LivenessWatchdog {
  /** Aborts, with a TargetUnresponsiveError as reason, when the target stops answering. */
  readonly signal: AbortSignal
  stop: () => void
}

/**
 * Probes `baseUrl` every intervalMs on a separate connection; after `failures` consecutive
 * failures (no answer, or a 5xx) it aborts its signal. A crash of a child process is caught faster
 * by TargetProcess; this also covers a hung process and an external --url target.
 */
export function watchLiveness(baseUrl: string, options: LivenessOptions = {}): LivenessWatchdog {
  const url = new URL(options.path ?? '/', baseUrl).href
  const intervalMs = options.intervalMs ?? 1000
  const failuresAllowed = options.failures ?? 3
  const probeTimeoutMs = options.probeTimeoutMs ?? intervalMs
  const controller = new AbortController()
  const stopController = new AbortController()
  let consecutive = 0
  let timer: NodeJS.Timeout | undefined
  let lastError: unknown

  const tick = async (): Promise<void> => {
    try {
      const status = await probe(url, probeTimeoutMs, stopController.signal)
      if (status >= 500) throw new Error(`health probe answered ${status}`)
      consecutive = 0
    } catch (error) {
      if (stopController.signal.aborted) return
      lastError = error
      consecutive++
    }
    if (stopController.signal.aborted) return
    if (consecutive >= failuresAllowed) {
      controller.abort(new TargetUnresponsiveError(baseUrl, consecutive, lastError))
      return
    }
    schedule()
  }
  // Unref'd: a watchdog someone forgot to stop must not keep the process alive.
  const schedule = (): void => {
    timer = setTimeout(() => {
      void tick()
    }, intervalMs)
    timer.unref()
  }
  schedule()

  return {
    signal: controller.signal,
    stop: () => {
      stopController.abort()
      if (timer !== undefined) clearTimeout(timer)
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

const CERTIFICATE_ERRORS =
  /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_UNTRUSTED)$/

/** A TLS certificate the client does not trust, as Node names it (on the error or its cause). */
function isCertificateError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  const causeCode = ((error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined)?.code
  return [code, causeCode].some((c) => typeof c === 'string' && CERTIFICATE_ERRORS.test(c))
}
