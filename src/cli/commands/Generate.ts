/**
 * `automarket generate text|image|video|audio|speech "prompt"`, and `generate upscale IMAGE` and
 * `generate video-to-video VIDEO` from a file: one generation through the registry (the router's
 * choice with fallback, or the `--provider` given). An input file is checked before any provider
 * is called: readable, and of the kind the command takes by its extension.
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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { spawn } from "node:child_process"
import { Audio, fromFile, Image, type Text, text, Video } from "../../domain/Asset.js"
import type { JobCapability } from "../../domain/Capability.js"
import type { InputOf, OptionsOf, OutputOf } from "../../domain/MediaProvider.js"
import * as JobProgress from "../../domain/Progress.js"
import { type GenerateOptions, ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { extensionOf, saveDownloading, speechFormatOf } from "../AssetFiles.js"
import * as MediaTypes from "../../media/MediaTypes.js"
import { databaseOf, databaseOption, durationOption as durationText, hostLayer, storeLayer } from "../DurableHost.js"
import { InvalidOptions, type UnreadableFile } from "../Errors.js"
import { readable } from "../InputFiles.js"
import { type CliOutputService, copyFile, output, writeFile } from "../Output.js"
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

/**
 * The capabilities `generate` makes a file with: a text prompt or a media file in, an image, a
 * video or audio out; all queued-job capabilities (so a generation can run durably). Read off the
 * domain's table of what each capability takes and gives (`CapabilityIO`).
 */
type MediaJob = {
  [C in JobCapability]: InputOf<C> extends Text | Image | Video | Audio ? (OutputOf<C> extends Image | Video | Audio ? C : never) : never
}[JobCapability]

/** What every `generate <medium>` command is asked besides its input: who makes it, where it goes. */
export interface MediaRequest {
  readonly provider: Option.Option<string>
  readonly model: Option.Option<string>
  readonly out: Option.Option<string>
  readonly ticket: Option.Option<string>
  /** The idempotency key: the same key (and request) is the same generation, paid once. */
  readonly key: Option.Option<string>
  /** Start the generation, print its id and exit. */
  readonly detach: boolean
  /** The generation's budget. */
  readonly timeout: Option.Option<Duration.Duration>
  readonly database: Option.Option<string>
}

const keyOption = Options.text("key").pipe(
  Options.withDescription("An idempotency key: run again with the same key and prompt, and the same generation answers (its result, paid once)"),
  Options.optional
)
const detachOption = Options.boolean("detach").pipe(
  Options.withDescription("Start the generation, print its id and exit (follow it with `automarket jobs watch ID`)")
)
const timeoutOption = durationText("timeout", "The generation's budget (e.g. 90s, 10m; default 30m): past it the remote job is cancelled").pipe(
  Options.optional
)

/**
 * Whether a generation runs durably: asked for (a key, --detach, a database), or the provider it
 * would go to first runs queued jobs (fal.ai, Replicate): every queued job the command line
 * starts survives a crash.
 */
const runsDurably = <C extends MediaJob>(capability: C, request: MediaRequest, routed: GenerateOptions<C>) =>
  Effect.gen(function* () {
    if (Option.isSome(request.key) || request.detach || Option.isSome(request.database)) return true
    const registry = yield* ProviderRegistry
    const first = (yield* registry.tryOrder(capability, routed))[0]
    if (first === undefined) return false
    const { manifestOf } = yield* Effect.promise(() => import("../../registry/Providers.js"))
    return manifestOf(first.provider.id)?.jobs !== undefined
  })

/**
 * The generation as a durable one (see `durable/`): started (or joined, with the same key),
 * followed through its recorded events to its result, delivered to --out. Ctrl-C cancels it
 * (its remote job once); a crash does not: `automarket jobs resume --all` picks it up.
 */
const generateDurably = <C extends MediaJob>(
  capability: C,
  input: InputOf<C>,
  request: MediaRequest,
  routed: GenerateOptions<C>,
  options: OptionsOf<C>,
  stem: string
) =>
  Effect.gen(function* () {
    const io = yield* output
    const database = yield* databaseOf(request.database)
    const { Generations } = yield* Effect.promise(() => import("../../durable/Durable.js"))
    const provider = routed.providers?.length === 1 ? routed.providers[0] : undefined
    const model = provider !== undefined ? routed.models?.[provider] : undefined
    const modelsAsked = routed.models !== undefined && provider === undefined ? Object.values(routed.models)[0] : undefined
    const startRequest = {
      capability,
      input,
      options: options as Record<string, unknown>,
      ...(provider !== undefined ? { provider } : {}),
      ...(model !== undefined ? { model } : modelsAsked !== undefined ? { model: modelsAsked } : {}),
      ...(routed.providers !== undefined && provider === undefined ? { route: { providers: routed.providers } } : {}),
      ...Option.match(request.key, { onNone: () => ({}), onSome: (key) => ({ key }) }),
      timeout: Option.getOrElse(request.timeout, () => Duration.minutes(30)),
      ...Option.match(request.out, { onNone: () => ({}), onSome: (out) => ({ deliverTo: out }) })
    }
    if (request.detach && Option.isNone(database)) {
      // Embedded: journaled here, run by a process of its own (this one exits now, starting no runner).
      const { prepareGeneration } = yield* Effect.promise(() => import("../../durable/Durable.js"))
      const journaled = yield* prepareGeneration(startRequest).pipe(Effect.provide(storeLayer(database)))
      spawnResumer(journaled.id)
      return yield* io.stdout(`${journaled.id}\n`)
    }
    return yield* Effect.scoped(
      Effect.gen(function* () {
        const generations = yield* Generations
        const id = yield* generations.start(startRequest)
        if (request.detach) {
          // Postgres: the workers run it.
          yield* io.stdout(`${id}\n`)
          return
        }
        const display = yield* Progress.makeJobDisplay(io.progress)
        const show = keepingTicket(request.ticket, io, display.onEvent)
        const events = yield* Effect.fork(
          Stream.runForEach(generations.events(id, { every: "100 millis" }), (recorded) =>
            isJobEvent(recorded.event) ? show(recorded.event) : Effect.void
          )
        )
        const result = yield* generations.await(id).pipe(
          // Ctrl-C: the user stops this generation (a crash would not): its remote job is cancelled once.
          Effect.onInterrupt(() => Effect.ignore(generations.cancel(id)))
        )
        yield* Fiber.join(events).pipe(Effect.timeout("2 seconds"), Effect.ignore)
        const stored = result.output
        let written: string
        if (result.deliveredTo !== undefined) written = result.deliveredTo
        else if (stored.path !== undefined) written = yield* copyFile(`${stem}.${extensionOf(stored.mimeType)}`, stored.path)
        else return yield* io.stdout(`${stored.text ?? ""}\n`)
        const fellBack = result.attempts
        const note = fellBack.length > 0 ? ` (after ${fellBack.map((a) => `${a.provider}: ${a.error.tag}`).join(", ")})` : ""
        yield* io.stdout(`${written} by ${stored.provider}/${stored.model}${note}\n`)
      })
    ).pipe(Effect.provide(hostLayer(database)))
  })

const jobEventTags = new Set(["Submitted", "Queued", "Running", "Downloading", "Completed"])
const isJobEvent = (event: { readonly _tag: string }): event is JobProgress.JobEvent => jobEventTags.has(event._tag)

/** A background `automarket jobs resume ID` that runs a detached generation on the embedded file. */
const spawnResumer = (id: string): void => {
  const script = process.argv[1]
  if (script === undefined) return
  const child = spawn(process.execPath, [script, "jobs", "resume", id, "--quiet"], { detached: true, stdio: "ignore", env: process.env })
  child.unref()
}

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
 * Run a media generation with its progress on stderr, then save the result: to `--out`, else to
 * `<stem>.<extension of its type>`. Prints the path and who made it.
 */
const generateMedia = <C extends MediaJob>(
  capability: C,
  input: InputOf<C>,
  request: MediaRequest,
  options: OptionsOf<C>,
  stem: string
): Effect.Effect<void, unknown, ProviderRegistry | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const io = yield* output
    const routed = yield* checked(capability, request.provider, request.model)
    if (yield* runsDurably(capability, request, routed)) return yield* generateDurably(capability, input, request, routed, options, stem)
    const { result, written } = yield* Effect.scoped(
      Effect.gen(function* () {
        // The display ends its line when this scope closes, before the result is printed.
        const display = yield* Progress.makeJobDisplay(io.progress)
        const result = yield* JobProgress.listen(
          registry.generateDetailed(capability, input, { ...routed, options }),
          keepingTicket(request.ticket, io, display.onEvent)
        )
        const asset: Image | Video | Audio = result.output
        const target = Option.getOrElse(request.out, () => `${stem}.${extensionOf(asset.mimeType)}`)
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

/**
 * A `generate <medium>` command: its input (the prompt, or a file `inputOf` makes the asset of),
 * `--provider`, `--model`, `--out` and `--ticket`, then its own options (`own`), which `optionsOf`
 * turns into the capability's options (it is given `--out` too: its name can choose a format).
 * The result is saved to `--out`, else to `<stem>.<extension of its type>`.
 */
const mediaCommand = <Name extends string, C extends MediaJob, Own>(spec: {
  readonly name: Name
  readonly capability: C
  readonly description: string
  /** The default file name without its extension, e.g. `image`. */
  readonly stem: string
  /** The usual extension of the result, for `--help`. */
  readonly extension: string
  /** The positional argument (default: the prompt). */
  readonly prompt?: Args.Args<string>
  /** The input asset of the argument; checked before anything is generated. */
  readonly inputOf: (argument: string) => Effect.Effect<InputOf<C>, UnreadableFile | InvalidOptions>
  readonly own: Options.Options<Own>
  readonly optionsOf: (own: Own, out: Option.Option<string>) => OptionsOf<C>
}) => {
  // The command's own options become the generation to run, so the parsed command holds no
  // type of its capability's (the @effect/cli config types do not resolve over a type parameter).
  const generation = Options.map(spec.own, (own) => (argument: string, request: MediaRequest) =>
    Effect.flatMap(spec.inputOf(argument), (input) => generateMedia(spec.capability, input, request, spec.optionsOf(own, request.out), spec.stem))
  )
  return Command.make(
    spec.name,
    {
      prompt: spec.prompt ?? promptArg,
      provider: providerOption,
      model: modelOption,
      out: outOption(`${spec.stem}.${spec.extension}`),
      ticket: ticketOption,
      key: keyOption,
      detach: detachOption,
      timeout: timeoutOption,
      database: databaseOption,
      generation
    },
    ({ generation, prompt, ...request }) => generation(prompt, request)
  ).pipe(Command.withDescription(spec.description))
}

/** A prompt as the input of a text-to-media command. */
const fromPrompt = (prompt: string): Effect.Effect<Text> => Effect.succeed(text(prompt))

/**
 * An input file's media type, by its extension, when it is readable and of `kind`: else refused
 * before any provider is called, UnreadableFile when it cannot be read, InvalidOptions when its
 * extension names no media of that kind.
 */
const mediaTypeOfFile = (file: string, kind: "image" | "video"): Effect.Effect<string, UnreadableFile | InvalidOptions> =>
  Effect.flatMap(readable(file), () => {
    const mimeType = MediaTypes.mediaTypeOfExtension(file)
    return mimeType !== undefined && mimeType.startsWith(`${kind}/`)
      ? Effect.succeed(mimeType)
      : Effect.fail(new InvalidOptions({ message: `${file}: not ${kind === "image" ? "an image" : "a video"} by its extension${mimeType !== undefined ? ` (${mimeType})` : ""}` }))
  })

/** An image file as the input of an image-to-image command. */
const imageFile = (file: string): Effect.Effect<Image, UnreadableFile | InvalidOptions> =>
  Effect.map(mediaTypeOfFile(file, "image"), (mimeType) => new Image({ source: fromFile(file), mimeType }))

/** A video file as the input of a video-to-video command. */
const videoFile = (file: string): Effect.Effect<Video, UnreadableFile | InvalidOptions> =>
  Effect.map(mediaTypeOfFile(file, "video"), (mimeType) => new Video({ source: fromFile(file), mimeType }))

const durationOption = integerOption("duration", "Length in seconds")

/** `--width`, `--height` and `--seed`: the frame of a picture, as images and videos take it. */
const frameOptions = (seedDescription: string) => ({
  width: integerOption("width", "Width in pixels"),
  height: integerOption("height", "Height in pixels"),
  seed: integerOption("seed", seedDescription)
})

/** The frame options that are set. */
const frameOf = (frame: { readonly width: Option.Option<number>; readonly height: Option.Option<number>; readonly seed: Option.Option<number> }) => ({
  ...when(frame.width, (width) => ({ width })),
  ...when(frame.height, (height) => ({ height })),
  ...when(frame.seed, (seed) => ({ seed }))
})

/** `automarket generate image "prompt" [--out file.png] [--width W --height H]`. */
export const generateImage = mediaCommand({
  name: "image",
  capability: "text-to-image",
  inputOf: fromPrompt,
  description: "Generate an image (text-to-image) into --out",
  stem: "image",
  extension: "png",
  own: Options.all({
    ...frameOptions("Random seed, for repeatable results"),
    negative: Options.text("negative-prompt").pipe(Options.withDescription("What the image should not show"), Options.optional)
  }),
  optionsOf: (own) => ({ ...frameOf(own), ...when(own.negative, (negativePrompt) => ({ negativePrompt })) })
})

/** `automarket generate video "prompt" [--out clip.mp4] [--duration S] [--width W --height H]`. */
export const generateVideo = mediaCommand({
  name: "video",
  capability: "text-to-video",
  inputOf: fromPrompt,
  description: "Generate a video (text-to-video) into --out",
  stem: "video",
  extension: "mp4",
  own: Options.all({ duration: durationOption, ...frameOptions("Random seed") }),
  optionsOf: (own) => ({ ...when(own.duration, (durationSeconds) => ({ durationSeconds })), ...frameOf(own) })
})

/** `automarket generate audio "prompt" [--out sound.wav] [--duration S]`: music and sound effects. */
export const generateAudio = mediaCommand({
  name: "audio",
  capability: "text-to-audio",
  inputOf: fromPrompt,
  description: "Generate music or sound (text-to-audio) into --out",
  stem: "audio",
  extension: "wav",
  own: Options.all({ duration: durationOption }),
  optionsOf: ({ duration }) => when(duration, (durationSeconds) => ({ durationSeconds }))
})

/** `automarket generate speech "text" [--out speech.wav|.mp3|.opus] [--voice V]`. */
export const generateSpeech = mediaCommand({
  name: "speech",
  capability: "text-to-speech",
  inputOf: fromPrompt,
  description: "Speak a text (text-to-speech) into --out",
  stem: "speech",
  extension: "wav",
  prompt: Args.text({ name: "text" }).pipe(Args.withDescription("What to say")),
  own: Options.all({ voice: Options.text("voice").pipe(Options.withDescription("A voice of the provider"), Options.optional) }),
  optionsOf: ({ voice }, out) => ({
    format: Option.match(out, { onNone: () => "wav" as const, onSome: speechFormatOf }),
    ...when(voice, (voice) => ({ voice }))
  })
})

/** `automarket generate upscale IMAGE [--out big.png] [--scale N]`: a larger picture (image-upscaling). */
export const generateUpscale = mediaCommand({
  name: "upscale",
  capability: "image-upscaling",
  description: "Upscale an image file (image-upscaling) into --out",
  stem: "upscaled",
  extension: "png",
  prompt: Args.path({ name: "image" }).pipe(Args.withDescription("The image to upscale (png, jpg, webp ...)")),
  inputOf: imageFile,
  own: Options.all({
    scale: Options.integer("scale").pipe(Options.withDescription("How many times larger each side gets (the model's default when unset)"), Options.optional)
  }),
  optionsOf: ({ scale }) => when(scale, (scale) => ({ scale }))
})

/** `automarket generate video-to-video VIDEO [--prompt "make it night"] [--out clip.mp4] [--seed N]`. */
export const generateVideoToVideo = mediaCommand({
  name: "video-to-video",
  capability: "video-to-video",
  description: "Make a new video from a video file and a prompt (video-to-video) into --out",
  stem: "video",
  extension: "mp4",
  prompt: Args.path({ name: "video" }).pipe(Args.withDescription("The video to start from (mp4, webm, mov)")),
  inputOf: videoFile,
  own: Options.all({
    prompt: Options.text("prompt").pipe(Options.withDescription("What to make of the video"), Options.optional),
    seed: integerOption("seed", "Random seed")
  }),
  optionsOf: ({ prompt, seed }) => ({ ...when(prompt, (prompt) => ({ prompt })), ...when(seed, (seed) => ({ seed })) })
})

/** `automarket generate <kind>`: the generate commands. */
export const generate = Command.make("generate").pipe(
  Command.withDescription("Generate text, an image, a video, audio or speech from a prompt; upscale an image; make a video from a video"),
  Command.withSubcommands([generateText, generateImage, generateVideo, generateAudio, generateSpeech, generateUpscale, generateVideoToVideo])
)
