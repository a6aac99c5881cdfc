/**
 * The `video-composition` model `ffmpeg-composer`: a typed `Composition` rendered by the FFmpeg
 * service. Local files the composition names (clips, image and video overlays, audio tracks)
 * and http(s) URLs (downloaded by this client first, under `http/Download`'s policy) are uploaded
 * in one request: the service is never asked to fetch a URL (it refuses to unless started to).
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { FileSource, Video } from "../../../domain/Asset.js"
import { Composition, type CompositionInput } from "../../../domain/Composition.js"
import { InvalidInput, type MediaError, ModelNotFound } from "../../../domain/Errors.js"
import type { CompositionOptions } from "../../../domain/MediaProvider.js"
import type { ProviderModel } from "../../../domain/Model.js"
import { compositionSources } from "../../../services/ffmpeg/FilterGraph.js"
import * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"
import type { Deliver } from "./Delivery.js"

/** The model id. */
export const modelId = "ffmpeg-composer"

/** What discovery lists for it. */
export const model: ProviderModel = {
  id: modelId,
  provider,
  name: "FFmpeg composer",
  capabilities: ["video-composition"],
  pricing: [],
  free: true,
  description:
    "Concatenation of videos and still images (shown for a duration) with transitions, side-by-side, grid and picture-in-picture layouts, image/video/text overlays, audio keep/replace/mix/duck (voices over beds), h264 or vp9 output."
}

/** Replace every `src` of an (encoded) composition. */
export const rewriteSources = (composition: CompositionInput, rename: (src: string) => string): CompositionInput => ({
  ...composition,
  clips: Arr.map(composition.clips, (clip) => ({ ...clip, src: rename(clip.src) })),
  ...(composition.overlays !== undefined
    ? { overlays: composition.overlays.map((overlay) => (overlay._tag === "text" ? overlay : { ...overlay, src: rename(overlay.src) })) }
    : {}),
  ...(composition.audio !== undefined
    ? {
        audio: {
          ...composition.audio,
          ...(composition.audio.tracks !== undefined ? { tracks: composition.audio.tracks.map((track) => ({ ...track, src: rename(track.src) })) } : {})
        }
      }
    : {})
})

const isUrl = (src: string): boolean => /^https?:\/\//i.test(src)

// A src that is not an http(s) URL names a local file (a path, or a file: URL).
const localPath = (src: string): string => NodePath.resolve(/^file:/i.test(src) ? fileURLToPath(src) : src)

const invalid = (message: string, issues: ReadonlyArray<string>) => new InvalidInput({ provider, detail: message, issues })

/** Render a composition: upload its local files, run the job, download the result. */
export const compose =
  (client: FFmpegClient.Service, deliver: Deliver) =>
  (id: string, input: Composition, _options: CompositionOptions | undefined): Effect.Effect<Video, MediaError> =>
    Effect.gen(function* () {
      if (id !== modelId) return yield* new ModelNotFound({ provider, model: id, detail: `no model ${JSON.stringify(id)} for video-composition` })
      const encoded = yield* Either.match(Schema.encodeEither(Composition)(input), {
        onLeft: (error) => Effect.fail(invalid("the composition is not valid", [ParseResult.TreeFormatter.formatErrorSync(error)])),
        onRight: Effect.succeed
      })
      const fs = yield* FileSystem.FileSystem
      const keys = new Map<string, string>()
      const files: Array<FFmpegClient.UploadFile> = []
      for (const src of compositionSources(encoded)) {
        if (isUrl(src)) {
          const key = `in${files.length}`
          keys.set(src, key)
          files.push({ key, content: { _tag: "Url", url: src }, name: FFmpegClient.urlUploadName(src) })
          continue
        }
        let path: string
        try {
          path = localPath(src)
        } catch {
          return yield* invalid(`${JSON.stringify(src)} is neither an http(s) URL nor a file path`, [src])
        }
        const info = yield* fs.stat(path).pipe(Effect.mapError(() => invalid(`file not found: ${src}`, [`file not found: ${path}`])))
        if (info.type !== "File") return yield* invalid(`not a file: ${src}`, [`not a file: ${path}`])
        const key = `in${files.length}`
        keys.set(src, key)
        files.push({ key, content: { _tag: "Path", path }, name: FFmpegClient.uploadName(path) })
      }
      const spec = rewriteSources(encoded, (src) => keys.get(src) ?? src)
      const { output, path } = yield* deliver(client.compose(spec, files), id)
      return new Video({
        source: new FileSource({ path }),
        mimeType: output.mimeType,
        ...(output.width !== undefined ? { width: output.width } : {}),
        ...(output.height !== undefined ? { height: output.height } : {}),
        ...(output.duration !== undefined ? { duration: output.duration } : {}),
        ...(output.fps !== undefined ? { fps: output.fps } : {}),
        origin: { provider, model: id, costUsd: 0 }
      })
    }).pipe(Effect.provide(NodeFileSystem.layer))
