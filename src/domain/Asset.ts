/**
 * The media that flows in and out of providers: `Text`, `Image`, `Audio` and `Video`.
 * An asset's content lives in a `source`: bytes in memory, a file on disk, or a URL
 * (results of remote providers, downloaded on demand). Known metadata (mime type,
 * size, duration) travels with it, and `origin` says which provider and model made it
 * and what it cost.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** Content held in memory. */
export class BytesSource extends Schema.TaggedClass<BytesSource>()("Bytes", {
  bytes: Schema.Uint8ArrayFromSelf
}) {}

/** Content in a file on the local disk. */
export class FileSource extends Schema.TaggedClass<FileSource>()("File", {
  path: Schema.String
}) {}

/** Content behind a URL (http, https or data). */
export class UrlSource extends Schema.TaggedClass<UrlSource>()("Url", {
  url: Schema.String
}) {}

/** Where an asset's content is. */
export const AssetSource = Schema.Union(BytesSource, FileSource, UrlSource)
/** Where an asset's content is. */
export type AssetSource = typeof AssetSource.Type

/** Which provider and model produced an asset, and what producing it cost. */
export const Origin = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  /** Cost in US dollars when the provider prices it; 0 for free and local models. */
  costUsd: Schema.optional(Schema.Number),
  /** How `costUsd` is known: reported by the provider (OpenRouter's `usage.cost`), or computed from the catalog's price (the default). */
  costSource: Schema.optional(Schema.Literal("provider", "catalog")),
  /** The provider's job or request id, for support tickets and resuming. */
  jobId: Schema.optional(Schema.String),
  /**
   * Milliseconds of the call's wall time that automarket itself took: the call's time minus the
   * time spent waiting on providers (HTTP exchanges, job polls, backoffs, downloads). Set by the
   * registry (`ProviderRegistry.generateDetailed`).
   */
  overheadMs: Schema.optional(Schema.Number)
})
/** Which provider and model produced an asset, and what producing it cost. */
export type Origin = typeof Origin.Type

/** A word of a transcript and when it is said, in seconds from the start. */
export const TimedWord = Schema.Struct({
  word: Schema.String,
  start: Schema.Number,
  end: Schema.Number
})
/** A word of a transcript and when it is said. */
export type TimedWord = typeof TimedWord.Type

/**
 * A timed piece of a transcript, in seconds from the start; `words` when the recogniser timed
 * each word (asked for with `extra.word_timestamps` where the provider supports it).
 */
export const TextSegment = Schema.Struct({
  start: Schema.Number,
  end: Schema.Number,
  text: Schema.String,
  words: Schema.optional(Schema.Array(TimedWord))
})
/** A timed piece of a transcript. */
export type TextSegment = typeof TextSegment.Type

/** Text: a prompt, a generated answer, a transcript (with timed segments when known). */
export class Text extends Schema.TaggedClass<Text>()("Text", {
  text: Schema.String,
  language: Schema.optional(Schema.String),
  segments: Schema.optional(Schema.Array(TextSegment)),
  origin: Schema.optional(Origin)
}) {}

/** An image: png, jpeg, webp ... */
export class Image extends Schema.TaggedClass<Image>()("Image", {
  source: AssetSource,
  mimeType: Schema.String,
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  origin: Schema.optional(Origin)
}) {}

/** A sound: speech, music, effects. Duration in seconds where known. */
export class Audio extends Schema.TaggedClass<Audio>()("Audio", {
  source: AssetSource,
  mimeType: Schema.String,
  duration: Schema.optional(Schema.Number),
  sampleRate: Schema.optional(Schema.Number),
  origin: Schema.optional(Origin)
}) {}

/** A video, with its frame size, duration in seconds and frame rate where known. */
export class Video extends Schema.TaggedClass<Video>()("Video", {
  source: AssetSource,
  mimeType: Schema.String,
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  duration: Schema.optional(Schema.Number),
  fps: Schema.optional(Schema.Number),
  origin: Schema.optional(Origin)
}) {}

/** Any asset. */
export const Asset = Schema.Union(Text, Image, Audio, Video)
/** Any asset. */
export type Asset = typeof Asset.Type

/** The same asset with another origin (a copy of the same class; the asset was validated when it was made). */
export const withOrigin = <A extends Asset>(asset: A, origin: Origin): A => {
  const copy: A = Object.create(Object.getPrototypeOf(asset))
  return Object.assign(copy, asset, { origin })
}

/** The same media asset with another source (a copy of the same class, as `withOrigin` makes). */
export const withSource = <A extends Image | Audio | Video>(asset: A, source: AssetSource): A => {
  const copy: A = Object.create(Object.getPrototypeOf(asset))
  return Object.assign(copy, asset, { source })
}

/** A text asset from a string. */
export const text = (value: string, options?: { readonly language?: string }): Text =>
  new Text({ text: value, ...(options?.language !== undefined ? { language: options.language } : {}) })

/** A source for a file on disk. */
export const fromFile = (path: string): FileSource => new FileSource({ path })

/** A source for bytes in memory. */
export const fromBytes = (bytes: Uint8Array): BytesSource => new BytesSource({ bytes })

/** A source for a URL. */
export const fromUrl = (url: string): UrlSource => new UrlSource({ url })
