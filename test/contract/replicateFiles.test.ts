/**
 * Contract: the Replicate client's input upload against a Prism mock of Replicate's OpenAPI spec
 * (`POST /files`, multipart with `content`, `filename` and `type`), started with `--errors`: the
 * upload is sent as the spec says, with no violation, and its answer's `urls.get` is what the
 * client gives back. A negative control (a form without `content`) shows a violation is caught.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { FileSource } from "../../src/domain/Asset.js"
import * as Replicate from "../../src/providers/replicate/index.js"
import * as ProviderConfig from "../../src/provider/ProviderConfig.js"
import { prism, spec } from "../support/Prism.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-files-contract-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("Replicate files upload vs Replicate's OpenAPI spec (Prism)", () => {
  it.scopedLive("POST /files follows the spec, with no violation; a form without content is caught", () =>
    Effect.gen(function* () {
      const mock = yield* prism(spec("replicate/openapi.json"))
      const vars = ConfigProvider.fromMap(new Map([["REPLICATE_API_TOKEN", "r8_contract"], ["REPLICATE_BASE_URL", mock.url]]))
      const config = yield* Replicate.ReplicateConfig.fromEnv().pipe(Effect.withConfigProvider(vars))
      const client = yield* Replicate.ReplicateClient.make(config)
      const file = path.join(dir, "input.png")
      fs.writeFileSync(file, Buffer.alloc(300 * 1024, 7))
      const url = yield* client.upload({ source: new FileSource({ path: file }), size: 300 * 1024, contentType: "image/png", filename: "input.png" })
      // Prism answers the spec's example.
      expect(url).toBe("https://api.replicate.com/v1/files/cneqzikepnug6xezperrr4z55o")
      expect(mock.log().join("\n")).toMatch(/\[HTTP SERVER\] post \/files/)
      expect(mock.violations()).toEqual([])

      // Negative control: a form with no `content` part breaks the spec; Prism reports it.
      const { http } = yield* ProviderConfig.makeHttp(Replicate.ReplicateConfig.settings, config)
      const boundary = "automarket-contract"
      const form = `--${boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\ninput.png\r\n--${boundary}--\r\n`
      const bad = yield* Effect.exit(
        http.json({ method: "POST", path: "/files", body: HttpBody.text(form, `multipart/form-data; boundary=${boundary}`), schema: Schema.Unknown, retry: false })
      )
      expect(Exit.isFailure(bad)).toBe(true)
      expect(mock.violations().length).toBeGreaterThan(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 90_000)
})
