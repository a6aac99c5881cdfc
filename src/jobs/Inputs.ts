/**
 * A job's inputs as a remote model takes them: an asset (an image to edit, a recording to
 * transcribe) as a URL the model can fetch; a local file or bytes uploaded to the provider's
 * storage when the provider hosts uploads (see Uploads.ts) and it is above
 * `Uploads.inlineLimitBytes`, else inlined as a `data:` URI up to a size a request body can
 * carry; and the input object without the options left unset.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import type { AssetSource } from "../domain/Asset.js"
import { InvalidInput, type MediaError } from "../domain/Errors.js"
import * as Uploads from "./Uploads.js"

/** Largest local file sent inline (as a data URI) to a remote model: 20 MiB. */
export const maxInlineBytes = 20 * 1024 * 1024

/**
 * An asset's content as a URL a remote model can fetch: a URL source as is; bytes or a file above
 * `Uploads.inlineLimitBytes` uploaded by the `Uploads.Uploader` in effect (the URL it answers);
 * else (smaller, or no uploader) a `data:` URI (at most `maxInlineBytes`; larger needs hosting:
 * InvalidInput says so).
 */
export const inputUrlOf = (
  provider: string,
  source: AssetSource,
  mimeType: string
): Effect.Effect<string, MediaError> =>
  Effect.flatMap(Effect.serviceOption(Uploads.Uploader), (uploader) => {
    if (uploader._tag === "None" || source._tag === "Url") return inlineUrlOf(provider, source, mimeType)
    const upload = uploader.value
    const filename = Uploads.filenameOf(source, mimeType)
    if (source._tag === "Bytes") {
      return source.bytes.length > Uploads.inlineLimitBytes
        ? upload({ source, size: source.bytes.length, contentType: mimeType, filename })
        : inlineUrlOf(provider, source, mimeType)
    }
    return Effect.flatMap(statOf(provider, source.path), (size) =>
      size > Uploads.inlineLimitBytes ? upload({ source, size, contentType: mimeType, filename }) : inlineUrlOf(provider, source, mimeType)
    )
  })

const statOf = (provider: string, path: string): Effect.Effect<number, InvalidInput> =>
  Effect.tryPromise({
    try: () => fs.stat(path),
    catch: () => new InvalidInput({ provider, detail: `cannot read ${path}`, issues: ["input file unreadable"] })
  }).pipe(
    Effect.filterOrFail(
      (stat) => stat.isFile(),
      () => new InvalidInput({ provider, detail: `${path} is not a file`, issues: ["input file unreadable"] })
    ),
    Effect.map((stat) => stat.size)
  )

/** An asset's content inline: a URL as is, bytes or a file as a `data:` URI of at most `maxInlineBytes`. */
const inlineUrlOf = (provider: string, source: AssetSource, mimeType: string): Effect.Effect<string, MediaError> => {
  const tooLarge = (size: number) =>
    new InvalidInput({
      provider,
      detail: `input of ${size} bytes is too large to send inline (max ${maxInlineBytes}); give a URL source instead`,
      issues: ["input too large to inline"]
    })
  switch (source._tag) {
    case "Url":
      return Effect.succeed(source.url)
    case "Bytes":
      return source.bytes.length > maxInlineBytes
        ? Effect.fail(tooLarge(source.bytes.length))
        : Effect.succeed(`data:${mimeType};base64,${Buffer.from(source.bytes).toString("base64")}`)
    case "File":
      return Effect.tryPromise({
        try: () => fs.stat(source.path),
        catch: () => new InvalidInput({ provider, detail: `cannot read ${source.path}`, issues: ["input file unreadable"] })
      }).pipe(
        Effect.flatMap((stat) =>
          stat.size > maxInlineBytes
            ? Effect.fail(tooLarge(stat.size))
            : Effect.tryPromise({
                try: () => fs.readFile(source.path),
                catch: () => new InvalidInput({ provider, detail: `cannot read ${source.path}`, issues: ["input file unreadable"] })
              })
        ),
        Effect.map((bytes) => `data:${mimeType};base64,${bytes.toString("base64")}`)
      )
  }
}

/** An input object without its undefined fields: an option left unset is not sent (the model's default applies). */
export const definedFields = (entries: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined))
