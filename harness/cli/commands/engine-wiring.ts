// The engine's warnings on a command's stderr (the wiring itself is harness/engine/wiring.ts).
import type { Engine } from '../../engine/engine.ts'
import type { CommandIo } from '../io.ts'

/** The engine's warnings, one line each on stderr. */
export function printWarnings(engine: Pick<Engine, 'on'>, io: Pick<CommandIo, 'stderr'>): void {
  engine.on('warning', (w) => io.stderr(`warning: ${w.message}\n`))
}
