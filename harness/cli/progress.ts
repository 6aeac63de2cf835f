// The terminal's view of a run: one progress bar per trial, fed only by a driver's events
// ('warmup', 'start', 'tick', 'done'). The engine never imports this; the CLI attaches it to each
// driver. Silent unless a person is at a terminal (harness/cli/terminal.ts: both streams are TTYs and
// CI is not set) and --json is not given, so CI logs and machine-readable output stay clean.
import type { EventEmitter } from 'node:events'
import { MultiBar, Presets } from 'cli-progress'
import type { SingleBar } from 'cli-progress'
import type { DriverOutcome } from '../engine/drivers/types.ts'
import type { TimelineRow } from '../types.ts'
import { isInteractive } from './terminal.ts'

export interface ProgressOptions {
  /** --json: print nothing. */
  json?: boolean
  /** Where bars go. Default process.stderr, so stdout stays clean for results. */
  stream?: NodeJS.WriteStream
  /** Read for CI and TERM. Default process.env. */
  env?: NodeJS.ProcessEnv
  /** Checked for isTTY with the bar stream. Default process.stdout. */
  stdout?: { isTTY?: boolean }
}

export interface TrialLabel {
  scenario: string
  trial: number
  /** Measured duration; the bar's length in seconds. */
  durationMs: number
  arm?: 'A' | 'B'
}

interface Payload {
  label: string
  stage: string
  rps: string
  p99: string
  errors: string
}

export function formatUs(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)}s`
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)}ms`
  return `${Math.round(us)}µs`
}

export class ProgressDisplay {
  readonly enabled: boolean
  readonly #bars: MultiBar | undefined

  constructor(options: ProgressOptions = {}) {
    const stream = options.stream ?? process.stderr
    this.enabled = options.json !== true && isInteractive({ stderr: stream, stdout: options.stdout ?? process.stdout, env: options.env ?? process.env })
    this.#bars = this.enabled
      ? new MultiBar(
          {
            stream,
            format: ' {label} {bar} {value}/{total}s {stage} | {rps} req/s | p99 {p99} | errors {errors}',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            autopadding: true
          },
          Presets.shades_classic
        )
      : undefined
  }

  /** Subscribes to one driver run; returns a function that unsubscribes. */
  attach(driver: EventEmitter, label: TrialLabel): () => void {
    const bars = this.#bars
    if (bars === undefined) return () => {}
    const name = `${label.scenario}#${label.trial + 1}${label.arm === undefined ? '' : ` (${label.arm})`}`
    const totalSeconds = Math.max(1, Math.round(label.durationMs / 1000))
    const payload: Payload = { label: name, stage: 'starting', rps: '-', p99: '-', errors: '0' }
    const bar: SingleBar = bars.create(totalSeconds, 0, payload)
    let errors = 0
    let lastP99 = '-'

    const onWarmup = (): void => {
      bar.update(0, { ...payload, stage: 'warm-up' })
    }
    const onStart = (): void => {
      bar.update(0, { ...payload, stage: 'measuring' })
    }
    const onTick = (tick: TimelineRow): void => {
      errors += tick.errors
      if (tick.requests > 0) lastP99 = formatUs(tick.p99Us)
      bar.update(Math.min(totalSeconds, tick.second + 1), {
        ...payload,
        stage: 'measuring',
        rps: String(tick.requests),
        p99: lastP99,
        errors: String(errors)
      })
    }
    const onDone = (outcome: DriverOutcome): void => {
      const seconds = outcome.durationMs / 1000
      bar.update(totalSeconds, {
        ...payload,
        stage: outcome.aborted ? 'aborted' : 'done',
        rps: seconds > 0 ? String(Math.round(outcome.requests / seconds)) : '-',
        p99: lastP99,
        errors: String(outcome.errors)
      })
      detach()
    }
    // Without an 'error' listener a driver's error event would be fatal; the bar only counts them.
    const onError = (): void => {}

    driver.on('warmup', onWarmup)
    driver.on('start', onStart)
    driver.on('tick', onTick)
    driver.on('done', onDone)
    driver.on('error', onError)
    const detach = (): void => {
      driver.off('warmup', onWarmup)
      driver.off('start', onStart)
      driver.off('tick', onTick)
      driver.off('done', onDone)
      driver.off('error', onError)
    }
    return detach
  }

  /** Call before printing anything else to the terminal. */
  stop(): void {
    this.#bars?.stop()
  }
}
