// Whether output may be interactive (progress bars, cursor movement): only for a person at a
// terminal. CI logs and pipes get plain lines, so a log stays readable and `--json` output parseable.
// Written by hand because the rule is three checks; libraries such as ci-info detect *which* CI,
// which the harness has no use for.

export interface TerminalProbe {
  env?: NodeJS.ProcessEnv
  stdout?: { isTTY?: boolean }
  stderr?: { isTTY?: boolean }
}

/** CI is set by GitHub Actions, GitLab, CircleCI, Buildkite and most others; "false"/"0" mean unset. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

/**
 * True when a person is watching: both stdout and stderr are terminals, CI is not set and the
 * terminal is not `dumb`. Progress goes to stderr, but a redirected stdout (`> result.json`)
 * still means a script is in charge, so it turns bars off too.
 */
export function isInteractive(probe: TerminalProbe = {}): boolean {
  const env = probe.env ?? process.env
  const stdout = probe.stdout ?? process.stdout
  const stderr = probe.stderr ?? process.stderr
  if (inCi(env) || env.TERM === 'dumb') return false
  return stdout.isTTY === true && stderr.isTTY === true
}
