/**
 * A finished job's output as an asset: where its result file is downloaded (`downloadResult`,
 * named by `resultFileName`), the asset each capability makes of it (`toImage`, `toVideo`,
 * `toAudio`, a transcript as `Text`), and the readers a queued provider builds from its own two
 * output rules (`resultReaders`).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { Audio, FileSource, Image, type Origin, Text, Video } from "../domain/Asset.js"
import type { JobCapability } from "../domain/Capability.js"
import { DownloadFailed, MalformedResponse, type MediaError } from "../domain/Errors.js"
import type { OutputOf } from "../domain/MediaProvider.js"
import type { ProviderModel } from "../domain/Model.js"
import * as Download from "../http/Download.js"
import * as PrivateDir from "../local/PrivateDir.js"
import { Attribute, SpanName } from "../resilience/Attributes.js"
import * as Spans from "../resilience/Spans.js"
import * as ProviderWait from "../resilience/ProviderWait.js"
import type { JobTicket } from "./Ticket.js"

/** A safe file name for a job's `index`-th result: `<provider>-<request id>-<index>.<ext>`. */
export const resultFileName = (ticket: JobTicket, index: number, extension: string): string =>
  `${ticket.provider}-${ticket.requestId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80)}-${index}.${extension}`

/** The kind of asset a job capability makes. */
export const outputKindOf = (capability: JobCapability): "image" | "video" | "audio" | "text" => {
  switch (capability) {
    case "text-to-image":
    case "image-to-image":
    case "image-upscaling":
      return "image"
    case "text-to-video":
    case "image-to-video":
    case "video-to-video":
      return "video"
    case "text-to-audio":
    case "text-to-speech":
      return "audio"
    case "speech-to-text":
      return "text"
  }
}

/** A result file a provider named: its URL and what the provider said about it. */
export interface ResultMedia {
  readonly url: string
  readonly contentType?: string | undefined
  readonly width?: number | undefined
  readonly height?: number | undefined
  readonly duration?: number | undefined
}

/**
 * The cost of one result of `model` (recorded in the result's origin), when its first price is
 * per image or per request; undefined for other units (per second, per megapixel: the cost
 * depends on the result) and for models without a price.
 */
export const costPerResult = (model: ProviderModel | undefined): number | undefined => {
  const first = model?.pricing[0]
  return first !== undefined && (first.unit === "image" || first.unit === "request") ? first.usd : undefined
}

const defaultExtension = { image: "png", video: "mp4", audio: "wav" } as const
const expected = { image: ["image/*"], video: ["video/*"], audio: ["audio/*"] } as const

/** A downloaded result: the file as a source, its media type and the job's origin. */
export interface DownloadedResult {
  readonly source: FileSource
  readonly mimeType: string
  readonly origin: Origin
  /** What the provider said about the file (size, duration). */
  readonly media: ResultMedia
}

/**
 * Download a job's result file into `dir` (named by `resultFileName`), its content type checked
 * against `kind`; the asset parts (File source, media type, origin with the job id) for it. The
 * user's private default folder is refused when another user owns it or it is a link
 * (`PrivateDir.ensure`), before anything is fetched.
 */
export const downloadResult = (
  ticket: JobTicket,
  kind: "image" | "video" | "audio",
  media: ResultMedia,
  options: { readonly dir: string; readonly costUsd?: number | undefined; readonly maxBytes?: number | undefined; readonly index?: number }
): Effect.Effect<DownloadedResult, MediaError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const dir = yield* PrivateDir.ensure(options.dir).pipe(
      Effect.mapError(
        (error) => new DownloadFailed({ provider: ticket.provider, detail: `cannot use ${options.dir}: ${error.message}` })
      )
    )
    const hinted = Download.mediaTypeOf(media.contentType)
    const urlPath = media.url.startsWith("data:") ? "" : safePathname(media.url)
    const urlExtension = path.extname(urlPath)
    const extension =
      Download.extensionOf(hinted) ?? (/^\.[a-z0-9]{2,4}$/i.test(urlExtension) ? urlExtension.slice(1).toLowerCase() : defaultExtension[kind])
    const file = yield* Download.download({
      url: media.url,
      to: path.join(dir, resultFileName(ticket, options.index ?? 0, extension)),
      expect: expected[kind],
      provider: ticket.provider,
      model: ticket.model,
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {})
    }).pipe(
      // The transfer is a wait on the provider's file host (writing the chunks to disk included).
      ProviderWait.measure,
      Effect.tap((downloaded) => Spans.annotateCurrentSpan(Attribute.bytes, downloaded.bytes)),
      Effect.tapError((error) => Spans.annotateCurrentSpan(Attribute.errorTag, error._tag)),
      Spans.withSpan(SpanName.jobDownload, { captureStackTrace: false,
        attributes: { [Attribute.provider]: ticket.provider, [Attribute.model]: ticket.model, [Attribute.jobId]: ticket.requestId }
      })
    )
    const specific = file.contentType !== undefined && !/octet-stream|binary/.test(file.contentType) ? file.contentType : undefined
    return {
      source: new FileSource({ path: file.path }),
      mimeType: specific ?? hinted ?? Download.mediaTypeOfExtension(file.path) ?? `${kind}/${extension}`,
      origin: {
        provider: ticket.provider,
        model: ticket.model,
        jobId: ticket.requestId,
        ...(options.costUsd !== undefined ? { costUsd: options.costUsd } : {})
      },
      media
    }
  })

const sizeOf = (media: ResultMedia) => ({
  ...(media.width !== undefined ? { width: media.width } : {}),
  ...(media.height !== undefined ? { height: media.height } : {})
})
const durationOf = (media: ResultMedia) => (media.duration !== undefined ? { duration: media.duration } : {})

/** A downloaded result as an `Image`. */
export const toImage = (result: DownloadedResult): Image =>
  new Image({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...sizeOf(result.media) })

/** A downloaded result as a `Video`. */
export const toVideo = (result: DownloadedResult): Video =>
  new Video({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...sizeOf(result.media), ...durationOf(result.media) })

/** A downloaded result as an `Audio`. */
export const toAudio = (result: DownloadedResult): Audio =>
  new Audio({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...durationOf(result.media) })

/** A transcript read from a speech-to-text output. */
export interface TranscriptResult {
  readonly text: string
  readonly segments: ReadonlyArray<{ readonly start: number; readonly end: number; readonly text: string }>
  readonly language?: string
}

/** How a finished job's output becomes the asset of each capability. */
export type ResultReaders = {
  readonly [C in JobCapability]: (ticket: JobTicket, output: unknown) => Effect.Effect<OutputOf<C>, MediaError>
}

/**
 * The result readers of a queued provider, from its two output rules: where a file is (then
 * downloaded with `downloadResult` by `fetchFile`) and where a transcript is. An output without
 * either fails with MalformedResponse.
 */
export const resultReaders = (
  fetchFile: (ticket: JobTicket, kind: "image" | "video" | "audio", output: unknown) => Effect.Effect<DownloadedResult, MediaError>,
  transcriptOf: (output: unknown) => TranscriptResult | undefined
): ResultReaders => ({
  "text-to-image": (ticket, output) => Effect.map(fetchFile(ticket, "image", output), toImage),
  "image-to-image": (ticket, output) => Effect.map(fetchFile(ticket, "image", output), toImage),
  "image-upscaling": (ticket, output) => Effect.map(fetchFile(ticket, "image", output), toImage),
  "text-to-video": (ticket, output) => Effect.map(fetchFile(ticket, "video", output), toVideo),
  "image-to-video": (ticket, output) => Effect.map(fetchFile(ticket, "video", output), toVideo),
  "video-to-video": (ticket, output) => Effect.map(fetchFile(ticket, "video", output), toVideo),
  "text-to-audio": (ticket, output) => Effect.map(fetchFile(ticket, "audio", output), toAudio),
  "text-to-speech": (ticket, output) => Effect.map(fetchFile(ticket, "audio", output), toAudio),
  "speech-to-text": (ticket, output) => {
    const transcript = transcriptOf(output)
    if (transcript === undefined) return Effect.fail(malformedResult(ticket, "the output has no transcript"))
    return Effect.succeed(
      new Text({
        text: transcript.text,
        segments: transcript.segments,
        ...(transcript.language !== undefined ? { language: transcript.language } : {}),
        origin: { provider: ticket.provider, model: ticket.model, jobId: ticket.requestId }
      })
    )
  }
})

/** MalformedResponse about a job's output. */
export const malformedResult = (ticket: JobTicket, what: string): MalformedResponse =>
  new MalformedResponse({ provider: ticket.provider, detail: `job ${ticket.requestId} (${ticket.model}): ${what}` })

const safePathname = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return ""
  }
}
