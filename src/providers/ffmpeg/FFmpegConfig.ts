/**
 * Where the FFmpeg provider's settings come from: `FFMPEG_SERVICE_URL`, the URL of a running
 * AutoMarket FFmpeg service (the user's own, or a container), else ours, started by the
 * `ServiceRuntime` on first use; `FFMPEG_OUTPUT_DIR`, where results are downloaded to; and the
 * budgets of a job and of a health check. The service needs no key.
 *
 * @module
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as LocalService from "../../local/LocalService.js"
import * as PrivateDir from "../../local/PrivateDir.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"

/** The provider id, in errors and models. */
export const providerId = "ffmpeg"

/** The environment variable naming a running service (e.g. `http://127.0.0.1:8006`). */
export const envVar = "FFMPEG_SERVICE_URL"

/** The environment variable naming the directory results are written to. */
export const outputDirVar = "FFMPEG_OUTPUT_DIR"

/** Where the service is: `FFMPEG_SERVICE_URL`, or the embedded FFmpeg service. */
export const location: Effect.Effect<LocalService.ServiceLocation, ConfigError.ConfigError, ServiceRuntime> = LocalService.locate("ffmpeg", envVar)

/** `FFMPEG_OUTPUT_DIR` when set. */
export const outputDir: Config.Config<string | undefined> = Config.map(Config.option(Config.nonEmptyString(outputDirVar)), Option.getOrUndefined)

/**
 * The directory results are written to unless told otherwise: the user's private `ffmpeg` folder
 * (`PrivateDir`: `$XDG_RUNTIME_DIR/automarket/ffmpeg`, else `~/.cache/automarket/tmp/ffmpeg`),
 * not a fixed folder of the shared temp dir that another user could own or link elsewhere.
 */
export const defaultOutputDir = (): string => PrivateDir.pathOf("ffmpeg")

/** Budget of one job (upload, ffmpeg run, answer, download) unless told otherwise. */
export const defaultJobTimeout: Duration.DurationInput = "10 minutes"

/** Budget of a health check or of releasing a result. */
export const defaultHealthTimeout: Duration.DurationInput = "3 seconds"
