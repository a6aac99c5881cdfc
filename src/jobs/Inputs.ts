/**
 * A job's inputs as a remote model takes them: an asset (an image to edit, a recording to
 * transcribe) as a URL the model can fetch, a local file or bytes inlined as a `data:` URI up to
 * a size a request body can carry; and the input object without the options left unset.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs/promises"
import type { AssetSource } from "../domain/Asset.js"
import { InvalidInput, type MediaError } from "../domain/Errors.js"

/** Largest local file sent inline (as a data URI) to a remote model: 20 MiB. */
export const maxInlineBytes = 20 * 1024 * 1024

/**
 * An asset's content as a URL a remote model can fetch: a URL source as is, bytes or a file as a
 * `data:` URI (at most `maxInlineBytes`; larger files need hosting: InvalidInput says so).
 */
export const inputUrlOf = (
  provider: string,
  source: AssetSource,
  mimeType: string
): Effect.Effect<string, MediaError> => {
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
