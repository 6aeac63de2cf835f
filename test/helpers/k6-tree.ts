// The k6 scripts as k6 itself would load them, for tests that run them under a stand-in k6: each
// .ts module with its types stripped the way k6's StripTypes does (esbuild's transform), their
// imports pointed at the stripped copies, and the `k6/*` modules replaced by the test's fakes.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

export const K6_DIR = fileURLToPath(new URL('../../scenarios/k6/', import.meta.url))
export const CATALOG = fileURLToPath(new URL('../../scenarios/catalog.ts', import.meta.url))
export const CONTRACT = fileURLToPath(new URL('../../harness/k6-contract.ts', import.meta.url))
export const K6_MODULES = ['k6', 'k6/http', 'k6/metrics', 'k6/execution']

/** What k6's StripTypes does to every .ts module it loads (internal/js/compiler). */
export async function stripLikeK6(file: string): Promise<string> {
  const out = await transform(readFileSync(file, 'utf8'), { loader: 'ts', sourcefile: file, target: 'esnext', platform: 'neutral', charset: 'utf8', legalComments: 'none' })
  return out.code
}

/** Writes the stripped scripts, the catalog, the contract and `fakes` (module name → code) into a new folder; returns it. */
export async function buildK6Tree(prefix: string, fakes: Readonly<Record<string, string>>): Promise<string> {
  const build = mkdtempSync(path.join(tmpdir(), prefix))
  const rewrite = (code: string): string =>
    code.replace(/from\s+['"]([^'"]+)['"]/g, (_, spec: string) => {
      if (K6_MODULES.includes(spec)) return `from './${spec.replace('/', '-')}.mjs'`
      return `from '${spec
        .replace(/\.ts$/, '.mjs')
        .replace(/^\.\.\/catalog/, './catalog')
        .replace(/^\.\.\/\.\.\/harness\/k6-contract/, './k6-contract')}'`
    })
  for (const f of readdirSync(K6_DIR).filter((x) => x.endsWith('.ts')))
    writeFileSync(path.join(build, f.replace(/\.ts$/, '.mjs')), rewrite(await stripLikeK6(path.join(K6_DIR, f))))
  writeFileSync(path.join(build, 'catalog.mjs'), await stripLikeK6(CATALOG))
  writeFileSync(path.join(build, 'k6-contract.mjs'), await stripLikeK6(CONTRACT))
  for (const [name, code] of Object.entries(fakes)) writeFileSync(path.join(build, `${name.replace('/', '-')}.mjs`), code)
  return build
}
