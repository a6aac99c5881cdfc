/**
 * Where the Chatterbox provider's settings come from: `CHATTERBOX_DOCKER_URL`, the URL of a
 * running Chatterbox TTS Server (the real GPU container, or ours run by hand), else our TTS
 * service, started by the `ServiceRuntime` on first use; where synthesized files go; and the
 * budget of one synthesis. The service needs no key.
 *
 * @module
 */
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as LocalService from "../../local/LocalService.js"
import * as PrivateDir from "../../local/PrivateDir.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"

/** The provider id, in errors and models. */
export const providerId = "chatterbox"

/** The environment variable naming a running service (e.g. `http://127.0.0.1:8004`). */
export const envVar = "CHATTERBOX_DOCKER_URL"

/** Where the service is: `CHATTERBOX_DOCKER_URL`, or the embedded TTS service. */
export const location: Effect.Effect<LocalService.ServiceLocation, ConfigError.ConfigError, ServiceRuntime> = LocalService.locate("tts", envVar)

/**
 * Where synthesized files are written unless told otherwise: the user's private `chatterbox`
 * folder (`PrivateDir`), not a fixed folder of the shared temp dir.
 */
export const defaultOutputDir = (): string => PrivateDir.pathOf("chatterbox")

/** Budget of one synthesis unless told otherwise. */
export const defaultTimeout: Duration.DurationInput = "5 minutes"
