/**
 * A `Console` that records what is printed, for running commands in-process.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** A recording console: `out` gets log/info lines, `err` gets error/warn lines. */
export const capture = () => {
  const out: Array<string> = []
  const err: Array<string> = []
  const text = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const console: Console.Console = {
    [Console.TypeId]: Console.TypeId,
    assert: () => Effect.void,
    clear: Effect.void,
    count: () => Effect.void,
    countReset: () => Effect.void,
    debug: (...args) => Effect.sync(() => void out.push(text(args))),
    dir: (item) => Effect.sync(() => void out.push(String(item))),
    dirxml: (...args) => Effect.sync(() => void out.push(text(args))),
    error: (...args) => Effect.sync(() => void err.push(text(args))),
    group: () => Effect.void,
    groupEnd: Effect.void,
    info: (...args) => Effect.sync(() => void out.push(text(args))),
    log: (...args) => Effect.sync(() => void out.push(text(args))),
    table: (data) => Effect.sync(() => void out.push(JSON.stringify(data))),
    time: () => Effect.void,
    timeEnd: () => Effect.void,
    timeLog: () => Effect.void,
    trace: (...args) => Effect.sync(() => void out.push(text(args))),
    warn: (...args) => Effect.sync(() => void err.push(text(args))),
    unsafe: globalThis.console
  }
  return { console, out, err }
}
