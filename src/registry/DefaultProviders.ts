/**
 * The providers the command line and `AutoMarket.layer` use when the caller names none: every
 * provider this package has, each configured from the environment. Remote providers without a
 * key are listed but not configured; local providers start their service on first use.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Layer from "effect/Layer"
import type { MediaProvider } from "../domain/MediaProvider.js"
import type { ServiceRuntime } from "../local/ServiceRuntime.js"
import * as Chatterbox from "../providers/chatterbox/index.js"
import * as FalAi from "../providers/falai/index.js"
import * as FFmpeg from "../providers/ffmpeg/index.js"
import * as OpenRouter from "../providers/openrouter/index.js"
import * as Replicate from "../providers/replicate/index.js"
import * as Together from "../providers/together/index.js"
import * as Whisper from "../providers/whisper/index.js"

/** Every provider's layer, in the registry's default order (ties in routing keep this order). */
export const defaultProviders: ReadonlyArray<
  Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime>
> = [FFmpeg.FFmpegProvider.layer, Chatterbox.layer, Whisper.layer, Together.layer, OpenRouter.layer, FalAi.layer, Replicate.layer]
