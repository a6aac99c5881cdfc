/**
 * Commands of the local services: `automarket serve ffmpeg|tts|stt` runs one in the foreground;
 * `automarket serve gateway` runs the HTTP gateway (see `ServeGateway.ts`).
 * Impossible values (a port out of range, a negative body limit, no concurrency) are refused by
 * the service before it binds, in one line; so is binding beyond loopback without a token.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { defaultServerOptions, serviceChildVar, ServiceNames, tokenEnvVar } from "../../services/kit/ServerOptions.js"
import { databaseOf, databaseOption } from "../DurableHost.js"

const service = Args.choice([...ServiceNames, "gateway" as const].map((name) => [name, name] as const), { name: "service" }).pipe(
  Args.withDescription(
    "Which service: ffmpeg (port 8006), tts (Chatterbox API, 8004), stt (whisper-asr API, 9000), or gateway (the HTTP gateway over every provider, 8080)"
  )
)

/** `automarket serve <service>`: run a local service until Ctrl-C. */
export const serve = Command.make(
  "serve",
  {
    service,
    port: Options.integer("port").pipe(Options.withDescription("Port to bind; 0 picks a free one"), Options.optional),
    host: Options.text("host").pipe(Options.withDescription("Interface to bind"), Options.withDefault("127.0.0.1")),
    workDir: Options.directory("work-dir").pipe(Options.withDescription("Where uploads and results go (default: a temp dir)"), Options.optional),
    concurrency: Options.integer("concurrency").pipe(Options.withDescription("Jobs run at once"), Options.optional),
    maxBodyMb: Options.integer("max-body-mb").pipe(Options.withDescription("Largest request body, in MiB"), Options.optional),
    token: Options.redacted("token").pipe(
      Options.withDescription(
        `Bearer token every route but /health requires (better: the ${tokenEnvVar} environment variable, which ps does not show); required to bind beyond loopback`
      ),
      // An empty variable counts as unset (a blank line in an env file should not lock everyone out).
      Options.withFallbackConfig(Config.redacted(Config.nonEmptyString(tokenEnvVar))),
      Options.optional
    ),
    allowNoToken: Options.boolean("allow-no-token").pipe(
      Options.withDescription("Bind beyond loopback without a token: anyone who can reach the port can run jobs")
    ),
    allowHost: Options.text("allow-host").pipe(
      Options.withDescription("A name (or name:port) the Host header may give besides the address bound (e.g. behind a proxy); repeatable"),
      Options.repeated
    ),
    allowUrlHost: Options.text("allow-url-host").pipe(
      Options.withDescription(
        "ffmpeg: a host URL inputs may be fetched from (example.com, *.example.com, or * for any); repeatable. Default none: URL inputs are refused"
      ),
      Options.repeated
    ),
    maxQueued: Options.integer("max-queued").pipe(
      Options.withDescription("Requests that may wait beyond the running jobs; the next one is answered 503 with Retry-After (default 16)"),
      Options.optional
    ),
    engineTimeout: Options.integer("engine-timeout").pipe(
      Options.withDescription("Longest one engine run (ffmpeg, flite, pocketsphinx) may take, in seconds, before it is killed (default 1800)"),
      // Zero or less would stop every run at once (or never): refused here, not at the first job.
      Options.filterMap((seconds) => (seconds > 0 ? Option.some(seconds) : Option.none()), "--engine-timeout must be a positive number of seconds"),
      Options.optional
    ),
    database: databaseOption,
    noAuth: Options.boolean("no-auth").pipe(
      Options.withDescription("gateway: let every request in without a key (loopback only; default: keys from `automarket keys create`)")
    ),
    maxUploadMb: Options.integer("max-upload-mb").pipe(
      Options.withDescription("gateway: largest uploaded file, in MiB (default 512)"),
      Options.filterMap((mb) => (mb > 0 ? Option.some(mb) : Option.none()), "--max-upload-mb must be a positive number of MiB"),
      Options.optional
    )
  },
  (args) => {
    if (args.service === "gateway") {
      return Effect.gen(function* () {
        const database = yield* databaseOf(args.database)
        const { serveGateway } = yield* Effect.promise(() => import("./ServeGateway.js"))
        return yield* serveGateway({
          host: args.host,
          port: Option.getOrElse(args.port, () => 8080),
          database,
          noAuth: args.noAuth,
          maxUploadBytes: Option.getOrUndefined(Option.map(args.maxUploadMb, (mb) => mb * 1024 * 1024)),
          version: "0.1.0"
        })
      })
    }
    const name = args.service
    const defaults = defaultServerOptions(name)
    // The servers are loaded only by this command (start-up time of every other command).
    return Effect.flatMap(Effect.promise(() => import("../../services/Launcher.js")), (Launcher) =>
      Launcher.serve(name, {
        host: args.host,
        port: Option.getOrElse(args.port, () => defaults.port),
        workDir: Option.getOrUndefined(args.workDir),
        concurrency: Option.getOrElse(args.concurrency, () => defaults.concurrency),
        maxBodyBytes: Option.match(args.maxBodyMb, { onNone: () => defaults.maxBodyBytes, onSome: (mb) => mb * 1024 * 1024 }),
        token: Option.getOrUndefined(args.token),
        allowNoToken: args.allowNoToken,
        allowedHosts: args.allowHost,
        allowUrlHosts: args.allowUrlHost,
        maxQueued: Option.getOrUndefined(args.maxQueued),
        engineTimeout: Option.match(args.engineTimeout, { onNone: () => defaults.engineTimeout, onSome: Duration.seconds })
      },
      // Started by a process of ours for itself (ProcessRuntime): stops when that process is gone, even killed outright.
      { withParent: process.env[serviceChildVar] === "1" })
    )
  }
).pipe(Command.withDescription("Run a local service (ffmpeg, tts, stt) or the HTTP gateway in the foreground until Ctrl-C"))
