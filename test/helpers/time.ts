// The one sleep and waitFor every test uses.
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Poll `cond` every `everyMs` until it is true or `timeoutMs` passed; returns whether it became
 * true. A rejection counts as "not yet" (a target that is still starting refuses connections).
 */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (
      await Promise.resolve()
        .then(cond)
        .catch(() => false)
    )
      return true
    if (Date.now() >= deadline) return false
    await sleep(everyMs)
  }
}
