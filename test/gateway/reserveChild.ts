/**
 * A process of its own booking spend against one key of a SQLite file, for the test of
 * reservations across processes (test/gateway/Keys.test.ts):
 * `node --import tsx reserveChild.ts FILE KEY_ID COUNT USD BARRIER_DIR NAME`. It opens the file,
 * says it is ready (`BARRIER_DIR/NAME.ready`), waits for `BARRIER_DIR/go`, makes COUNT concurrent
 * reservations of USD and prints how many were granted and refused as JSON.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Keys from "../../src/gateway/Keys.js"

const [file, keyId, count, usd, barrier, name] = process.argv.slice(2)
if (file === undefined || keyId === undefined || count === undefined || usd === undefined || barrier === undefined || name === undefined) {
  throw new Error("usage: reserveChild.ts FILE KEY_ID COUNT USD BARRIER_DIR NAME")
}

const program = Effect.gen(function* () {
  const store = yield* Keys.KeyStore
  fs.writeFileSync(path.join(barrier, `${name}.ready`), "")
  while (!fs.existsSync(path.join(barrier, "go"))) yield* Effect.sleep("5 millis")
  const results = yield* Effect.forEach(Array.from({ length: Number(count) }), () => store.reserve(keyId, Number(usd)), {
    concurrency: "unbounded"
  })
  return { granted: results.filter((r) => r._tag === "Reserved").length, refused: results.filter((r) => r._tag === "Refused").length }
})

Effect.runPromise(program.pipe(Effect.provide(Keys.layer.pipe(Layer.provide(SqliteClient.layer({ filename: file })))))).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  }
)
