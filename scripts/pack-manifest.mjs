// The package.json that `npm pack` ships. This repository's scripts (start the reference target,
// lint, test, benchmark) and its devDependencies need files the tarball does not carry, so an
// installed authbench would list commands that cannot run. `prepack` writes the manifest without
// them and keeps the repository's own beside it; `postpack` puts it back. A pack that died in
// between is mended by the next `strip` or `restore`, which always starts from the kept copy.
// `check` runs first: the .d.ts types are written by TypeScript, a devDependency, so a fresh clone
// must `npm ci` before it packs; without it the pack stops with that instruction rather than a
// shell's `tsc: not found`.
// Plain Node and no dependency: it runs before anything else is built.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const manifest = path.join(root, 'package.json')
const kept = path.join(root, '.package.repo.json')

function restore() {
  if (existsSync(kept)) renameSync(kept, manifest)
}

function strip() {
  restore()
  const text = readFileSync(manifest, 'utf8')
  const { scripts: _scripts, devDependencies: _devDependencies, ...shipped } = JSON.parse(text)
  writeFileSync(kept, text)
  writeFileSync(manifest, `${JSON.stringify(shipped, null, 2)}\n`)
}

function check() {
  if (existsSync(path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'))) return
  process.stderr.write(
    "npm pack: TypeScript, a devDependency of this repository, writes the package's .d.ts types and is not installed here.\nRun `npm ci` in this repository first, then `npm pack`.\n"
  )
  process.exit(1)
}

const mode = process.argv[2]
if (mode === 'check') check()
else if (mode === 'strip') strip()
else if (mode === 'restore') restore()
else {
  process.stderr.write('usage: node scripts/pack-manifest.mjs check|strip|restore\n')
  process.exit(2)
}
