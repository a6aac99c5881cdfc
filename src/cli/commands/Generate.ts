/**
 * `automarket generate text|image|video|audio|speech "prompt"`: one generation through the
 * registry (the router's choice with fallback, or the `--provider` given).
 *
 * Text goes to stdout, streamed delta by delta with `--stream`. Media is saved to `--out`
 * (atomically: complete files only), with the job's progress (queued, running, downloading) on
 * stderr: a bar redrawn in place on a terminal, plain lines otherwise. Ctrl-C interrupts the
 * generation, which cancels the provider's remote job, and the executable exits with 130.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type Audio, type Image, text, type Video } from "../../domain/Asset.js"
import type { MediaError } from "../../domain/Errors.js"
import type { OptionsOf } from "../../domain/MediaProvider.js"
import * as JobProgress from "../../domain/Progress.js"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { extensionOf, saveDownloading, speechFormatOf } from "../AssetFiles.js"
import { UnknownProvider } from "../Errors.js"
import { type CliOutputService, output, writeFile } from "../Output.js"
import * as Progress from "../Progress.js"
import { checked, modelOption, providerOption } from "../ProviderChoice.js"

const promptArg = Args.text({ name: "prompt" }).pipe(Args.withDescription("What to generate"))
const outOption = (example: string) =>
  Options.file("out").pipe(
    Options.withAlias("o"),
    Options.withDescription(`The file to write (default: ${example}, the extension from the result's type)`),
    Options.optional
  )
const ticketOption = Options.file("ticket").pipe(
  Options.withDescription(
    "Write the job's ticket (JSON) here when the provider accepts it, so `automarket jobs resume|cancel FILE` can follow it from another process (queued providers: falai, replicate)"
  ),
  Options.optional
)
const integerOption = (name: string, description: string) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.optional)

/** `f(value)` when the option is set, else nothing: builds option objects field by field. */
const when = <V, R extends object>(option: Option.Option<V>, f: (value: V) => R): R | {} =>
  Option.match(option, { onNone: () => ({}), onSome: f })

type MediaCapabilityOf = "text-to-image" | "text-to-video" | "text-to-audio" | "text-to-speech"

/**
 * Listen to job events, and keep the ticket of a submitted job in `file` when one is asked for.
 * A ticket that cannot be written is reported on the progress output; the job goes on (failing
 * would cancel a job the user may still want).
 */
const keepingTicket = (
  file: Option.Option<string>,
  io: CliOutputService,
  onEvent: (event: JobProgress.JobEvent) => Effect.Effect<void>
) =>
  (event: JobProgress.JobEvent): Effect.Effect<void> => {
    if (Option.isNone(file) || event._tag !== "Submitted" || event.ticket === undefined) return onEvent(event)
    const ticket = event.ticket
    const kept = writeFile(file.value, `${ticket}\n`).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => io.progress.write(`automarket: cannot write the ticket to ${file.value}: ${String(error.cause)}\n`))
      )
    )
    return Effect.zipRight(kept, onEvent(event))
  }

/**
 * Run a media generation with its progress on stderr, then save the result: to `out`, else to
 * `<stem>.<extension of its type>`. Prints the path and who made it.
 */
const generateMedia = <C extends MediaCapabilityOf>(
  capability: C,
  prompt: string,
  options: OptionsOf<C>,
  route: { readonly provider: Option.Option<string>; readonly model: Option.Option<string> },
  out: Option.Option<string>,
  stem: string,
  ticket: Option.Option<string> = Option.none()
): Effect.Effect<void, UnknownProvider | MediaError, ProviderRegistry | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const io = yield* output
    const routed = yield* checked(capability, route.provider, route.model)
    const { result, written } = yield* Effect.scoped(
      Effect.gen(function* () {
        // The display ends its line when this scope closes, before the result is printed.
        const display = yield* Progress.makeJobDisplay(io.progress)
        const result = yield* JobProgress.listen(
          registry.generateDetailed(capability, text(prompt), { ...routed, options }),
          keepingTicket(ticket, io, display.onEvent)
        )
        const asset: Image | Video | Audio = result.output
        const target = Option.getOrElse(out, () => `${stem}.${extensionOf(asset.mimeType)}`)
        const written = yield* JobProgress.listen(saveDownloading(asset, target), display.onEvent)
        return { result, written }
      })
    )
    const fellBack = result.attempts.filter((attempt) => attempt.error !== undefined)
    const note = fellBack.length > 0 ? ` (after ${fellBack.map((a) => `${a.provider}: ${a.error?.tag}`).join(", ")})` : ""
    yield* io.stdout(`${written} by ${result.provider}/${result.model}${note}\n`)
  })

/** `automarket generate text "prompt" [--stream] [--max-tokens N] [--system S]`. */
export const generateText = Command.make(
  "text",
  {
    prompt: promptArg,
    provider: providerOption,
    model: modelOption,
    stream: Options.boolean("stream").pipe(Options.withAlias("s"), Options.withDescription("Write the answer as it arrives")),
    maxTokens: integerOption("max-tokens", "At most this many tokens in the answer"),
    system: Options.text("system").pipe(Options.withDescription("A system prompt"), Options.optional),
    temperature: Options.float("temperature").pipe(Options.withDescription("Sampling temperature"), Options.optional)
  },
  ({ maxTokens, model, prompt, provider, stream, system, temperature }) =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry
      const io = yield* output
      const routed = yield* checked("text-to-text", provider, model)
      const options = { ...routed, options: {
          ...when(maxTokens, (maxTokens) => ({ maxTokens })),
          ...when(system, (system) => ({ system })),
          ...when(temperature, (temperature) => ({ temperature }))
        } }
      if (!stream) {
        const result = yield* registry.generateDetailed("text-to-text", text(prompt), options)
        const answer = result.output.text
        return yield* io.stdout(answer.endsWith("\n") ? answer : `${answer}\n`)
      }
      // Each delta is written as it arrives; the answer ends with a newline either way.
      const last = yield* registry.streamText(text(prompt), options).pipe(
        Stream.filter((delta) => delta.length > 0),
        Stream.runFoldEffect("", (_, delta) => Effect.as(io.stdout(delta), delta))
      )
      if (!last.endsWith("\n")) yield* io.stdout("\n")
    })
).pipe(Command.withDescription("Generate text (text-to-text); --stream writes it as it arrives"))

/** `automarket generate image "prompt" [--out file.png] [--width W --height H]`. */
export const generateImage = Command.make(
  "image",
  {
    prompt: promptArg,
    provider: providerOption,
    model: modelOption,
    out: outOption("image.png"),
    ticket: ticketOption,
    width: integerOption("width", "Width in pixels"),
    height: integerOption("height", "Height in pixels"),
    seed: integerOption("seed", "Random seed, for repeatable results"),
    negative: Options.text("negative-prompt").pipe(Options.withDescription("What the image should not show"), Options.optional)
  },
  ({ height, model, negative, out, prompt, provider, seed, ticket, width }) =>
    generateMedia(
      "text-to-image",
      prompt,
      {
        ...when(width, (width) => ({ width })),
        ...when(height, (height) => ({ height })),
        ...when(seed, (seed) => ({ seed })),
        ...when(negative, (negativePrompt) => ({ negativePrompt }))
      },
      { provider, model },
      out,
      "image",
      ticket
    )
).pipe(Command.withDescription("Generate an image (text-to-image) into --out"))

/** `automarket generate video "prompt" [--out clip.mp4] [--duration S] [--width W --height H]`. */
export const generateVideo = Command.make(
  "video",
  {
    prompt: promptArg,
    provider: providerOption,
    model: modelOption,
    out: outOption("video.mp4"),
    ticket: ticketOption,
    duration: integerOption("duration", "Length in seconds"),
    width: integerOption("width", "Width in pixels"),
    height: integerOption("height", "Height in pixels"),
    seed: integerOption("seed", "Random seed")
  },
  ({ duration, height, model, out, prompt, provider, seed, ticket, width }) =>
    generateMedia(
      "text-to-video",
      prompt,
      {
        ...when(duration, (durationSeconds) => ({ durationSeconds })),
        ...when(width, (width) => ({ width })),
        ...when(height, (height) => ({ height })),
        ...when(seed, (seed) => ({ seed }))
      },
      { provider, model },
      out,
      "video",
      ticket
    )
).pipe(Command.withDescription("Generate a video (text-to-video) into --out"))

/** `automarket generate audio "prompt" [--out sound.wav] [--duration S]`: music and sound effects. */
export const generateAudio = Command.make(
  "audio",
  {
    prompt: promptArg,
    provider: providerOption,
    model: modelOption,
    out: outOption("audio.wav"),
    ticket: ticketOption,
    duration: integerOption("duration", "Length in seconds")
  },
  ({ duration, model, out, prompt, provider, ticket }) =>
    generateMedia(
      "text-to-audio",
      prompt,
      when(duration, (durationSeconds) => ({ durationSeconds })),
      { provider, model },
      out,
      "audio",
      ticket
    )
).pipe(Command.withDescription("Generate music or sound (text-to-audio) into --out"))

/** `automarket generate speech "text" [--out speech.wav|.mp3|.opus] [--voice V]`. */
export const generateSpeech = Command.make(
  "speech",
  {
    prompt: Args.text({ name: "text" }).pipe(Args.withDescription("What to say")),
    provider: providerOption,
    model: modelOption,
    out: outOption("speech.wav"),
    ticket: ticketOption,
    voice: Options.text("voice").pipe(Options.withDescription("A voice of the provider"), Options.optional)
  },
  ({ model, out, prompt, provider, ticket, voice }) => {
    const format = Option.match(out, { onNone: () => "wav" as const, onSome: speechFormatOf })
    return generateMedia("text-to-speech", prompt, { format, ...when(voice, (voice) => ({ voice })) }, { provider, model }, out, "speech", ticket)
  }
).pipe(Command.withDescription("Speak a text (text-to-speech) into --out"))

/** `automarket generate <kind>`: the generate commands. */
export const generate = Command.make("generate").pipe(
  Command.withDescription("Generate text, an image, a video, audio or speech from a prompt"),
  Command.withSubcommands([generateText, generateImage, generateVideo, generateAudio, generateSpeech])
)
