/**
 * Where the Whisper provider's settings come from: `WHISPER_SERVICE_URL`, the URL of a running
 * whisper-asr-webservice (the real GPU container, or ours run by hand), else our STT service,
 * started by the `ServiceRuntime` on first use; and the budget of one transcription. The
 * service needs no key.
 *
 * @module
 */
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as LocalService from "../../local/LocalService.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"

/** The provider id, in errors and models. */
export const providerId = "whisper"

/** The environment variable naming a running service (e.g. `http://127.0.0.1:9000`). */
export const envVar = "WHISPER_SERVICE_URL"

/** Where the service is: `WHISPER_SERVICE_URL`, or the embedded STT service. */
export const location: Effect.Effect<LocalService.ServiceLocation, ConfigError.ConfigError, ServiceRuntime> = LocalService.locate("stt", envVar)

/** Budget of one transcription unless told otherwise: long recordings on CPU are slow. */
export const defaultTimeout: Duration.DurationInput = "10 minutes"
