/**
 * Media types and file extensions: the small tables the downloader, the providers and the
 * command line share. Kept apart from `Download` so that using them loads no HTTP client.
 *
 * @module
 */
import * as path from "node:path"

/** The media type of a `content-type` header: lower-cased, parameters stripped. */
export const mediaTypeOf = (header: string | undefined): string | undefined => {
  const value = header?.split(";")[0]?.trim().toLowerCase()
  return value === undefined || value === "" ? undefined : value
}

/** The usual file extension of a media type (`image/png` -> `png`), or undefined. */
export const extensionOf = (mediaType: string | undefined): string | undefined => {
  if (mediaType === undefined) return undefined
  const known: Record<string, string> = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/quicktime": "mov",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "text/plain": "txt",
    "application/json": "json"
  }
  return known[mediaType]
}

/** The media type usually meant by a file extension (`.png` -> `image/png`), or undefined. */
export const mediaTypeOfExtension = (file: string): string | undefined => {
  const ext = path.extname(file).slice(1).toLowerCase()
  const known: Record<string, string> = {
    png: "image/png",
    jpg: "image/jpeg",
    jpeg: "image/jpeg",
    webp: "image/webp",
    gif: "image/gif",
    mp4: "video/mp4",
    webm: "video/webm",
    mov: "video/quicktime",
    wav: "audio/wav",
    mp3: "audio/mpeg",
    ogg: "audio/ogg",
    flac: "audio/flac",
    aac: "audio/aac",
    m4a: "audio/mp4"
  }
  return known[ext]
}
