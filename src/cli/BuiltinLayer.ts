/**
 * What the command line is given when it only prints (`--help`, `--version`, `--completions`):
 * no command runs then, so an empty registry, the Node platform and fetch stand in for
 * `AutoMarket.layer`, without loading any provider.
 *
 * @module
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Layer from "effect/Layer"
import * as ProviderRegistry from "../registry/ProviderRegistry.js"

/** An empty registry, the Node platform and an HTTP client that is never used. */
export const layer = Layer.mergeAll(ProviderRegistry.fromProviders([]), NodeContext.layer, FetchHttpClient.layer)
