/**
 * `automarket jobs resume|cancel TICKET`: the queued providers' jobs as values on the command
 * line. `generate image|video|audio|speech --ticket FILE` keeps the ticket of the job it
 * submits; when that process dies (a crash, a closed terminal, `kill -9`), `jobs resume FILE`
 * follows the same job to its result, without submitting (and paying for) it again, and
 * `jobs cancel FILE` stops it on the provider's side.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import { InvalidInput, type MediaError } from "../../domain/Errors.js"
import * as JobProgress from "../../domain/Progress.js"
import * as Jobs from "../../jobs/index.js"
import { extensionOf, save } from "../AssetFiles.js"
import type { UnreadableFile } from "../Errors.js"
import { readable } from "../InputFiles.js"
import { output } from "../Output.js"
import * as Progress from "../Progress.js"

/**
 * The job API of the provider that issued a ticket, from its manifest; InvalidInput naming the
 * providers that have one when the ticket's provider is unknown or runs no queued jobs.
 */
export const jobClientFor = (
  ticket: Jobs.JobTicket
): Effect.Effect<Jobs.JobClient, MediaError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    // The providers are loaded only by these commands (start-up time of every other command).
    const { manifestOf, queuedProviders } = yield* Effect.promise(() => import("../../registry/Providers.js"))
    const jobs = manifestOf(ticket.provider)?.jobs
    if (jobs === undefined) {
      const queued = queuedProviders.map((manifest) => manifest.id).join(", ")
      return yield* Effect.fail(
        new InvalidInput({
          provider: "jobs",
          detail: `tickets of provider "${ticket.provider}" cannot be resumed (queued providers: ${queued})`,
          issues: [`provider: ${ticket.provider}`]
        })
      )
    }
    return yield* jobs
  })

/** Read and decode a ticket file; UnreadableFile when it cannot be read, InvalidInput when it is not a ticket. */
export const readTicket = (file: string): Effect.Effect<Jobs.JobTicket, InvalidInput | UnreadableFile> =>
  readable(file).pipe(Effect.zipRight(Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (error) =>
      new InvalidInput({ provider: "jobs", detail: `cannot read the ticket ${file}: ${String(error)}`, issues: [file] })
  })), Effect.flatMap(Jobs.decodeTicket))

const ticketArg = Args.path({ name: "ticket" }).pipe(
  Args.withDescription("A ticket file written by `generate ... --ticket FILE`")
)

/** `automarket jobs resume TICKET [--out FILE]`: follow a submitted job to its result and save it. */
export const resume = Command.make(
  "resume",
  {
    ticket: ticketArg,
    out: Options.file("out").pipe(
      Options.withAlias("o"),
      Options.withDescription("The file to write (default: <request id>.<extension of the result>)"),
      Options.optional
    )
  },
  ({ out, ticket: file }) =>
    Effect.gen(function* () {
      const io = yield* output
      const ticket = yield* readTicket(file)
      const jobs = yield* jobClientFor(ticket)
      const written = yield* Effect.scoped(
        Effect.gen(function* () {
          const display = yield* Progress.makeJobDisplay(io.progress)
          const asset = yield* JobProgress.listen(jobs.resume(ticket), display.onEvent)
          if (asset._tag === "Text") {
            yield* io.stdout(asset.text.endsWith("\n") ? asset.text : `${asset.text}\n`)
            return undefined
          }
          const target = Option.getOrElse(out, () => `${ticket.requestId}.${extensionOf(asset.mimeType)}`)
          return yield* save(asset, target)
        })
      )
      if (written !== undefined) yield* io.stdout(`${written} by ${ticket.provider}/${ticket.model} (job ${ticket.requestId})\n`)
    })
).pipe(Command.withDescription("Follow a submitted job (from its ticket) to its result, without submitting it again"))

/** `automarket jobs cancel TICKET`: ask the provider to cancel a submitted job. */
export const cancel = Command.make("cancel", { ticket: ticketArg }, ({ ticket: file }) =>
  Effect.gen(function* () {
    const io = yield* output
    const ticket = yield* readTicket(file)
    const jobs = yield* jobClientFor(ticket)
    yield* jobs.cancel(ticket)
    yield* io.stdout(`cancelled ${ticket.provider} job ${ticket.requestId}\n`)
  })
).pipe(Command.withDescription("Cancel a submitted job (from its ticket) on the provider's side"))

/** `automarket jobs <resume|cancel>`. */
export const jobs = Command.make("jobs").pipe(
  Command.withDescription("Resume or cancel a queued provider's job from its ticket (see generate --ticket)"),
  Command.withSubcommands([resume, cancel])
)
