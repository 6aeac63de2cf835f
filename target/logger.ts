// The logging surface the target's modules need: the composition root passes Fastify's pino
// logger, tests pass a stub. A leaf module, so that stores and caches can name it without
// importing the module that builds them.

export interface Logger {
  info(obj: unknown, msg?: string): void
  warn(obj: unknown, msg?: string): void
  error(obj: unknown, msg?: string): void
}
