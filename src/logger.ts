import { HybridError } from './errors.js';

/**
 * Where the engine's messages go: `createHybrid({ logger })`. Without one the library writes
 * nothing anywhere. Any object with some of these methods will do: `console`, a pino or winston
 * logger, or your own. Each method gets one line of text; a method that is missing or that
 * throws is skipped.
 *
 * Levels: `debug` what the engine found while starting (the GPU probe and the lines Dawn printed
 * during it, the device chosen), `info` warm-up done, `warn` GPU trouble the engine answered
 * (an uncaptured GPU error, a device lost while in use).
 */
export interface Logger {
  /** What the engine found while starting (the GPU probe, Dawn's lines from it, the device). */
  debug?(message: string): void;
  /** Warm-up done, with its steps and times. */
  info?(message: string): void;
  /** GPU trouble the engine answered (an uncaptured GPU error, a device lost in use). */
  warn?(message: string): void;
  /** Not used yet: errors reach the caller as HybridError. */
  error?(message: string): void;
}

/** A level of Logger. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Sends one message to a Logger (or nowhere); never throws. */
export type Log = (level: LogLevel, message: string) => void;

/** A logger that drops everything: the default. */
export const silent: Log = () => undefined;

/**
 * The Log for `logger` (validated: an object whose present members for the four levels are
 * functions); `undefined` gives `silent`.
 */
export function logTo(logger: unknown): Log {
  if (logger === undefined || logger === null) return silent;
  if (typeof logger !== 'object' && typeof logger !== 'function') {
    throw new HybridError('INVALID_CONFIG', 'logger must be an object with debug/info/warn/error methods (console will do)', 'logger');
  }
  const target = logger as Record<LogLevel, unknown>;
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    const method = target[level];
    if (method !== undefined && typeof method !== 'function') {
      throw new HybridError('INVALID_CONFIG', `logger.${level} must be a function`, 'logger');
    }
  }
  return (level, message) => {
    const method = target[level];
    if (typeof method !== 'function') return;
    try {
      method.call(logger, `hybrid-similarity: ${message}`);
    } catch {
      // A logger that fails must not fail the call that logged.
    }
  };
}
