/**
 * The `MediaProvider` service: one provider (fal.ai, Together, the local FFmpeg service ...)
 * behind one interface. A provider lists its capabilities and models, reports its health, and
 * hands out capability models whose `transform(input, options)` is an Effect of an asset.
 *
 * Each provider module offers a `Layer` of this tag; the registry builds several of them and
 * routes between them. The per-capability input, options and output types are in
 * `CapabilityIO`, so `provider.model("text-to-image")` is typed `Text -> Image`.
 *
 * @module
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type { Audio, Image, Text, Video } from "./Asset.js"
import type { MediaCapability } from "./Capability.js"
import type { Composition } from "./Composition.js"
import type { MediaError } from "./Errors.js"
import type { HealthStatus } from "./Health.js"
import type { ProviderModel } from "./Model.js"

/** Provider-specific parameters passed through untouched (documented by each provider). */
export type ExtraParams = Readonly<Record<string, unknown>>

/** One earlier turn of a conversation. */
export interface ChatTurn {
  readonly role: "user" | "assistant"
  readonly content: string
}

/** Options of text generation. */
export interface TextOptions {
  readonly system?: string
  /** Earlier turns of the conversation, oldest first; the input is the user's next message. */
  readonly history?: ReadonlyArray<ChatTurn>
  readonly maxTokens?: number
  readonly temperature?: number
  readonly extra?: ExtraParams
}

/** Options of image generation and editing. */
export interface ImageOptions {
  readonly width?: number
  readonly height?: number
  readonly steps?: number
  readonly seed?: number
  readonly negativePrompt?: string
  /** For image-to-image: what to do to the image. */
  readonly prompt?: string
  /** For image-to-image: how far from the input to move, 0..1. */
  readonly strength?: number
  readonly extra?: ExtraParams
}

/** Options of video generation. */
export interface VideoOptions {
  readonly durationSeconds?: number
  readonly width?: number
  readonly height?: number
  readonly fps?: number
  readonly seed?: number
  /** For image-to-video: how the picture should move. */
  readonly prompt?: string
  readonly extra?: ExtraParams
}

/** Options of video-to-video: what to do to the video, with the model's own parameters in `extra`. */
export interface VideoEditOptions {
  /** What to do to the video (a restyle, a change of scene); models that need none ignore it. */
  readonly prompt?: string
  readonly negativePrompt?: string
  readonly seed?: number
  readonly extra?: ExtraParams
}

/** Options of image upscaling. */
export interface UpscaleOptions {
  /** How many times larger each side of the picture gets, e.g. 2 or 4; the model's default when unset. */
  readonly scale?: number
  readonly extra?: ExtraParams
}

/** Options of sound and music generation. */
export interface AudioOptions {
  readonly durationSeconds?: number
  readonly extra?: ExtraParams
}

/** Options of text-to-speech. */
export interface SpeechOptions {
  readonly voice?: string
  readonly format?: "wav" | "mp3" | "opus"
  /** 1 = normal speed. */
  readonly speed?: number
  /** A reference recording to clone; engines that cannot clone fail with InvalidInput. */
  readonly referenceAudio?: Audio
  readonly extra?: ExtraParams
}

/** Options of speech-to-text. */
export interface TranscriptionOptions {
  /** ISO 639-1 code; detected when absent where the engine can. */
  readonly language?: string
  readonly extra?: ExtraParams
}

/** Options of video composition. */
export interface CompositionOptions {
  readonly extra?: ExtraParams
}

/** Options of audio enhancement: each step is applied when set, in this order. */
export interface EnhancementOptions {
  readonly denoise?: boolean
  /** Loudness normalisation (EBU R128) to this integrated loudness, e.g. -16 LUFS. */
  readonly loudnessLufs?: number
  readonly format?: "wav" | "mp3" | "opus" | "flac"
  readonly sampleRate?: number
  readonly extra?: ExtraParams
}

/** What each capability takes and gives. */
export interface CapabilityIO {
  readonly "text-to-text": { readonly input: Text; readonly options: TextOptions; readonly output: Text }
  readonly "text-to-image": { readonly input: Text; readonly options: ImageOptions; readonly output: Image }
  readonly "image-to-image": { readonly input: Image; readonly options: ImageOptions; readonly output: Image }
  readonly "image-upscaling": { readonly input: Image; readonly options: UpscaleOptions; readonly output: Image }
  readonly "text-to-video": { readonly input: Text; readonly options: VideoOptions; readonly output: Video }
  readonly "image-to-video": { readonly input: Image; readonly options: VideoOptions; readonly output: Video }
  readonly "video-to-video": { readonly input: Video; readonly options: VideoEditOptions; readonly output: Video }
  readonly "text-to-audio": { readonly input: Text; readonly options: AudioOptions; readonly output: Audio }
  readonly "text-to-speech": { readonly input: Text; readonly options: SpeechOptions; readonly output: Audio }
  readonly "speech-to-text": { readonly input: Audio; readonly options: TranscriptionOptions; readonly output: Text }
  readonly "video-composition": {
    readonly input: Composition
    readonly options: CompositionOptions
    readonly output: Video
  }
  readonly "audio-enhancement": { readonly input: Audio; readonly options: EnhancementOptions; readonly output: Audio }
}

/** The input of capability `C`. */
export type InputOf<C extends MediaCapability> = CapabilityIO[C]["input"]
/** The options of capability `C`. */
export type OptionsOf<C extends MediaCapability> = CapabilityIO[C]["options"]
/** The output of capability `C`. */
export type OutputOf<C extends MediaCapability> = CapabilityIO[C]["output"]

/** A model ready to use for one capability. */
export interface CapabilityModel<C extends MediaCapability> {
  readonly id: string
  readonly provider: string
  readonly capability: C
  /** Run the model once. Errors are typed; retries and fallback are the caller's policy. */
  readonly transform: (input: InputOf<C>, options?: OptionsOf<C>) => Effect.Effect<OutputOf<C>, MediaError>
}

/** The capability models' named factories (the mixins of the original design). */
export interface CapabilityFactories {
  readonly textToText: (modelId?: string) => Effect.Effect<CapabilityModel<"text-to-text">, MediaError>
  readonly textToImage: (modelId?: string) => Effect.Effect<CapabilityModel<"text-to-image">, MediaError>
  readonly imageToImage: (modelId?: string) => Effect.Effect<CapabilityModel<"image-to-image">, MediaError>
  readonly imageUpscaling: (modelId?: string) => Effect.Effect<CapabilityModel<"image-upscaling">, MediaError>
  readonly textToVideo: (modelId?: string) => Effect.Effect<CapabilityModel<"text-to-video">, MediaError>
  readonly imageToVideo: (modelId?: string) => Effect.Effect<CapabilityModel<"image-to-video">, MediaError>
  readonly videoToVideo: (modelId?: string) => Effect.Effect<CapabilityModel<"video-to-video">, MediaError>
  readonly textToAudio: (modelId?: string) => Effect.Effect<CapabilityModel<"text-to-audio">, MediaError>
  readonly textToSpeech: (modelId?: string) => Effect.Effect<CapabilityModel<"text-to-speech">, MediaError>
  readonly speechToText: (modelId?: string) => Effect.Effect<CapabilityModel<"speech-to-text">, MediaError>
  readonly videoComposer: (modelId?: string) => Effect.Effect<CapabilityModel<"video-composition">, MediaError>
  readonly audioEnhancer: (modelId?: string) => Effect.Effect<CapabilityModel<"audio-enhancement">, MediaError>
}

/** Where a provider runs. */
export type ProviderType = "local" | "remote"

/** The interface every provider implements. Build one with `Provider.make` (runtime/Provider.ts). */
export interface MediaProviderService extends CapabilityFactories {
  /** Unique id, e.g. `"together"`. */
  readonly id: string
  /** Human-readable name. */
  readonly name: string
  readonly type: ProviderType
  /** What the provider can do (its models may each do a subset). */
  readonly capabilities: ReadonlyArray<MediaCapability>
  /** Whether everything the provider needs (keys, URLs) is configured. */
  readonly configured: boolean
  /** The provider's models, discovered (and cached) from its API. */
  readonly models: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /** The discovered models that have a capability. */
  readonly getModelsForCapability: (capability: MediaCapability) => Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /** The models that cost nothing to use (priced at 0, or flagged `free`). */
  readonly getFreeModels: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /** Whether the provider can take work now (configured, reachable, circuit not open). Never fails. */
  readonly isAvailable: Effect.Effect<boolean>
  /**
   * Whether its health reads degraded now (a recent failure, or a fallback model list served):
   * a read of state the provider keeps, no request, so routing can ask it on every call. Never fails.
   */
  readonly isDegraded: Effect.Effect<boolean>
  /** Health snapshot. Never fails. */
  readonly getHealth: Effect.Effect<HealthStatus>
  /** The model for a capability: `modelId`, or the provider's default for it. */
  readonly model: <C extends MediaCapability>(capability: C, modelId?: string) => Effect.Effect<CapabilityModel<C>, MediaError>
  /**
   * Text generation as a stream of text deltas (server-sent events where the API streams; one
   * delta holding the whole answer where it does not). `options.model` picks the model.
   * Fails with CapabilityNotSupported when the provider has no text generation.
   */
  readonly streamText: (input: Text, options?: StreamTextOptions) => Stream.Stream<string, MediaError>
}

/** Options of streamed text generation: the text options and the model to use. */
export interface StreamTextOptions extends TextOptions {
  readonly model?: string
}

/** The service tag of one provider. Fallback plans swap which provider fills it. */
export class MediaProvider extends Context.Tag("automarket/MediaProvider")<MediaProvider, MediaProviderService>() {}
