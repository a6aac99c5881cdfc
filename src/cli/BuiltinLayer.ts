/**
 * What the command line is given when it only prints (`--help`, `--version`, `--completions`):
 * no command runs then, so an empty registry, the Node platform and the library's HTTP client
 * stand in for `AutoMarket.layer`, without loading any provider. The client costs nothing here:
 * it imports undici on its first request, and a printing command sends none.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Layer from "effect/Layer"
import * as UndiciHttpClient from "../http/UndiciHttpClient.js"
import * as ProviderRegistry from "../registry/ProviderRegistry.js"

/** An empty registry, the Node platform and the HTTP client (`UndiciHttpClient.layer`, never used). */
export const layer: Layer.Layer<ProviderRegistry.ProviderRegistry | NodeContext.NodeContext | HttpClient.HttpClient> = Layer.mergeAll(
  ProviderRegistry.fromProviders([]),
  NodeContext.layer,
  UndiciHttpClient.layer
)
