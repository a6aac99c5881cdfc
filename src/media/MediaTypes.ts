/**
 * Media types and file extensions: the one table the downloader, the uploads, the providers and
 * the command line share. Kept apart from `Download` so that using it loads no HTTP client.
 *
 * @module
 */
import * as path from "node:path"

/**
 * Media types and their usual extensions. Read both ways: a media type's extension is its row's;
 * an extension's media type is the first row with it (so `webm` reads as `video/webm`).
 */
const table: ReadonlyArray<readonly [mediaType: string, extension: string]> = [
  ["image/png", "png"],
  ["image/jpeg", "jpg"],
  ["image/jpeg", "jpeg"],
  ["image/webp", "webp"],
  ["image/gif", "gif"],
  ["video/mp4", "mp4"],
  ["video/webm", "webm"],
  ["video/quicktime", "mov"],
  ["audio/wav", "wav"],
  ["audio/x-wav", "wav"],
  ["audio/wave", "wav"],
  ["audio/mpeg", "mp3"],
  ["audio/mp3", "mp3"],
  ["audio/ogg", "ogg"],
  ["audio/opus", "opus"],
  ["audio/flac", "flac"],
  ["audio/aac", "aac"],
  ["audio/mp4", "m4a"],
  ["audio/webm", "webm"],
  ["text/plain", "txt"],
  ["application/json", "json"]
]

const extensionByType = new Map<string, string>()
const typeByExtension = new Map<string, string>()
for (const [type, extension] of table) {
  if (!extensionByType.has(type)) extensionByType.set(type, extension)
  if (!typeByExtension.has(extension)) typeByExtension.set(extension, type)
}

/** The media type of a `content-type` header: lower-cased, parameters stripped. */
export const mediaTypeOf = (header: string | undefined): string | undefined => {
  const value = header?.split(";")[0]?.trim().toLowerCase()
  return value === undefined || value === "" ? undefined : value
}

/** The usual file extension of a media type (`image/png` -> `png`), or undefined. */
export const extensionOf = (mediaType: string | undefined): string | undefined =>
  mediaType === undefined ? undefined : extensionByType.get(mediaType)

/** The file extension for a `content-type` (parameters ignored): its usual one, else `bin`. */
export const fileExtensionOf = (contentType: string): string => extensionOf(mediaTypeOf(contentType)) ?? "bin"

/** The media type usually meant by a file's extension (`a.png` -> `image/png`), or undefined. */
export const mediaTypeOfExtension = (file: string): string | undefined => typeByExtension.get(path.extname(file).slice(1).toLowerCase())
