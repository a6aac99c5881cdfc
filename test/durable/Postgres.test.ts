/**
 * The throwaway PostgreSQL of the many-node tests (test/support/Postgres.ts): it starts on a
 * loopback port with the database `automarket`, answers `select 1` through the `pg` package as the
 * user `am`, and once stopped leaves neither its postmaster nor its data directory behind. The
 * version ordering that picks the newest server binaries is checked as a pure function.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as net from "node:net"
import { createRequire } from "node:module"
import { compareVersions, isAlive, postgres, serverBinaries } from "../support/Postgres.js"

/** The part of `pg` used here (the package ships no types). */
interface PgClient {
  readonly connect: () => Promise<unknown>
  readonly query: (sql: string) => Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>> }>
  readonly end: () => Promise<void>
}
const pg: { readonly Client: new (config: { readonly connectionString: string }) => PgClient } = createRequire(import.meta.url)("pg")

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
const accepts = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

describe("throwaway PostgreSQL", () => {
  it("the newest server binaries are picked by version number", () => {
    expect(["9.6", "16", "15", "10"].sort(compareVersions)).toEqual(["9.6", "10", "15", "16"])
    expect(serverBinaries("/nonexistent")).toBeUndefined()
    expect(serverBinaries()).toMatch(/^\/usr\/lib\/postgresql\/[^/]+\/bin$/)
  })

  it.live(
    "starts, answers select 1 through pg, and leaves no postmaster or data directory once stopped",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.scoped(
          Effect.gen(function* () {
            const server = yield* postgres
            expect(server.url).toBe(`postgres://am@127.0.0.1:${server.port}/automarket`)
            expect(fs.existsSync(server.dataDir)).toBe(true)
            expect(isAlive(server.pid)).toBe(true)
            const rows = yield* Effect.acquireUseRelease(
              Effect.promise(async () => {
                const client = new pg.Client({ connectionString: server.url })
                await client.connect()
                return client
              }),
              (client) => Effect.promise(() => client.query("select 1 as one, current_database() as db, current_user as who")),
              (client) => Effect.promise(() => client.end())
            )
            expect(rows.rows).toEqual([{ one: 1, db: "automarket", who: "am" }])
            return server
          })
        )
        expect(fs.existsSync(server.dataDir)).toBe(false)
        expect(isAlive(server.pid)).toBe(false)
        expect(yield* accepts(server.port)).toBe(false)
        // A second stop is a no-op.
        yield* Effect.promise(() => server.stop())
      }),
    120_000
  )
})
