/**
 * The kit's serving layer with a one-route `HttpApi`: an empty host binds 127.0.0.1, the guard
 * answers before the route, the OpenAPI document is served only when asked for, and stopping
 * does not wait for a client's idle keep-alive connection.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpServer from "@effect/platform/HttpServer"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import * as Http from "node:http"
import { BadRequest } from "../../../src/services/kit/Errors.js"
import * as FastApi from "../../../src/services/kit/FastApi.js"
import * as Serve from "../../../src/services/kit/Serve.js"

class Hello extends HttpApi.make("hello").add(
  HttpApiGroup.make("hello", { topLevel: true }).add(HttpApiEndpoint.get("hello", "/hello").addSuccess(Schema.String))
) {}

const handlers = HttpApiBuilder.api(Hello).pipe(
  Layer.provide(HttpApiBuilder.group(Hello, "hello", (routes) => routes.handle("hello", () => Effect.succeed("hi"))))
)

const start = async (openApi: boolean) => {
  const runtime = ManagedRuntime.make(
    Serve.layer(Hello, handlers, {
      server: { host: "", port: 0, maxBodyBytes: 1024, concurrency: 1 },
      guard: {
        respond: FastApi.respond,
        checks: [(request) => (request.headers["x-refuse"] !== undefined ? new BadRequest({ message: "refused" }) : undefined)]
      },
      openApi
    })
  )
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  return { runtime, address, url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}` }
}

const get = (url: string, headers: Record<string, string> = {}, agent?: Http.Agent) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    Http.get(url, { headers, ...(agent !== undefined ? { agent } : {}) }, (res) => {
      let body = ""
      res.on("data", (chunk) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    }).on("error", reject)
  })

describe("Serve.layer", () => {
  it("binds 127.0.0.1 for an empty host, puts the guard before the routes, serves OpenAPI only when asked", async () => {
    const served = await start(false)
    try {
      expect(served.address).toMatchObject({ _tag: "TcpAddress", hostname: "127.0.0.1" })
      expect(await get(`${served.url}/hello`)).toEqual({ status: 200, body: '"hi"' })
      expect(await get(`${served.url}/hello`, { "x-refuse": "1" })).toEqual({ status: 400, body: '{"detail":"refused"}' })
      expect((await get(`${served.url}/openapi.json`)).status).toBe(404)
    } finally {
      await served.runtime.dispose()
    }
    const documented = await start(true)
    try {
      const document = await get(`${documented.url}/openapi.json`)
      expect(document.status).toBe(200)
      expect(JSON.parse(document.body).paths["/hello"]).toBeDefined()
    } finally {
      await documented.runtime.dispose()
    }
  })

  it("stops without waiting for a client's idle keep-alive connection", async () => {
    const served = await start(false)
    const agent = new Http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 })
    try {
      expect((await get(`${served.url}/hello`, {}, agent)).status).toBe(200)
      const began = Date.now()
      await served.runtime.dispose()
      expect(Date.now() - began).toBeLessThan(3000)
    } finally {
      agent.destroy()
    }
  })
})
