#!/usr/bin/env node
// `authbench` / `npx authbench`: registers tsx so the TypeScript sources run as they are, then
// hands over to harness/cli/cli.ts. Plain JS because npm links bin files to run without a loader.
import { register } from 'tsx/esm/api'

register()
const { runMain } = await import('../cli/cli.ts')
await runMain(process.argv)
