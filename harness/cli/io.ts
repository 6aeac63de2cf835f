// What every command writes to and listens on: its two output streams and the run's abort signal.
// A leaf, so that commands and their helpers share it without importing one another.

/** A command's terminal: text to stdout and stderr, and the signal that aborts it (SIGINT). */
export interface CommandIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Aborts the run (the CLI ties it to SIGINT). */
  signal?: AbortSignal
}
