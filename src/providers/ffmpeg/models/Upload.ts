/**
 * One input asset as the file a job of the FFmpeg service uploads: a local file by its path,
 * bytes as they are, an http(s) URL downloaded by the client first (the service fetches no URLs
 * of its own), a `data:` URL as its bytes. Any other URL is InvalidInput.
 *
 * @module
 */
import * as Either from "effect/Either"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import type { AssetSource } from "../../../domain/Asset.js"
import { InvalidInput } from "../../../domain/Errors.js"
import * as FFmpegClient from "../FFmpegClient.js"
import { providerId as provider } from "../FFmpegConfig.js"

// Bytes of a data: URL.
const dataUrlBytes = (url: string): Uint8Array | undefined => {
  const match = /^data:[^,]*?(;base64)?,(.*)$/is.exec(url)
  if (match === null) return undefined
  return match[1] !== undefined ? Buffer.from(match[2]!, "base64") : Buffer.from(decodeURIComponent(match[2]!), "utf8")
}

/** The upload of `source` under `key`; `name` is the file name of bytes (a file or URL keeps its own). */
export const uploadOf = (source: AssetSource, key: string, name: string): Either.Either<FFmpegClient.UploadFile, InvalidInput> => {
  switch (source._tag) {
    case "File": {
      const path = NodePath.resolve(/^file:/i.test(source.path) ? fileURLToPath(source.path) : source.path)
      return Either.right({ key, content: { _tag: "Path", path }, name: FFmpegClient.uploadName(path) })
    }
    case "Bytes":
      return Either.right({ key, content: { _tag: "Bytes", bytes: source.bytes }, name })
    case "Url": {
      const url = source.url
      if (/^https?:\/\//i.test(url)) return Either.right({ key, content: { _tag: "Url", url }, name: FFmpegClient.urlUploadName(url) })
      const bytes = /^data:/i.test(url) ? dataUrlBytes(url) : undefined
      if (bytes !== undefined) return Either.right({ key, content: { _tag: "Bytes", bytes }, name })
      return Either.left(
        new InvalidInput({ provider, detail: `unsupported ${key} URL ${JSON.stringify(url.slice(0, 60))}: use http(s), data: or a file`, issues: [url.slice(0, 200)] })
      )
    }
  }
}
