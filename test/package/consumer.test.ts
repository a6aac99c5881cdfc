/**
 * The package as a user gets it. A clean copy of the repository (no dist/, the repository's own
 * node_modules linked in for the build tools) is packed with `npm pack` (whose prepack builds),
 * and the tarball installed into a temporary project the way README's Install section says; then:
 * - the tarball: its size and file count are printed, and every file in it is one a user needs
 *   (nothing of test/, bench/, scripts/ ...);
 * - the project ends with one copy of `effect` (a peer dependency, shared with automarket);
 * - plain Node runs the README's library example (the code block marked for this test) end to
 *   end on the local engines: text-to-speech then speech-to-text, no keys, no Docker;
 * - a TypeScript project (`strict`, `moduleResolution: "nodenext"`, library checks on) type-checks
 *   a file using the public API (registry, provider layers, error tags in `catchTag`) and the
 *   README example, against dist/'s declarations (with the repository's `typescript`);
 * - `npx automarket --help` and `npx automarket providers` run the prebuilt CLI bundle, with no
 *   build tool installed.
 * The dependencies come from the npm registry through npm's cache (`--prefer-offline`); their
 * install scripts are skipped (native builds of optional parts: ssh2's cpu-features, msgpackr's
 * extract), which also shows that automarket needs no install step. Everything is removed at the
 * end.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createRequire } from "node:module"
import { run } from "../support/Run.js"

const root = path.resolve(import.meta.dirname, "../..")
const minutes = (n: number) => n * 60_000

/** What a file of the tarball may be: what README's Install section promises and nothing else. */
const shipped = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^CHANGELOG\.md$/, /^bin\/automarket\.mjs$/, /^dist\//, /^src\/.+\.ts$/]
/** What it must hold. */
const required = ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "bin/automarket.mjs", "dist/index.js", "dist/index.d.ts", "dist/index.d.ts.map", "dist/ai/index.js", "dist/ai/index.d.ts", "dist/ai/LanguageModel.js", "dist/ai/LanguageModel.d.ts", "dist/cli-bundle/automarket.cjs", "dist/cli-bundle/cli/demo/default-script.md"]

/** Not copied into the clean copy: what a fresh clone does not have. */
const notCopied = new Set(["node_modules", ".git", "dist", "coverage", ".cache", path.join("bench", ".build")])

/**
 * The environment of the commands: without the settings of an enclosing `npm test` (npm_*, except
 * where npm's cache and registry are) and without the repository's node_modules/.bin on PATH, so
 * the consumer sees only what it installed.
 */
const environment = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (/^npm_/i.test(key) && !/^npm_config_(cache|registry|userconfig)$/i.test(key)) delete env[key]
  }
  env.PATH = (env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}`) && !dir.endsWith(`${path.sep}node_modules`))
    .join(path.delimiter)
  // The example runs on the local engines, started by the package itself as child processes.
  for (const key of ["FFMPEG_SERVICE_URL", "CHATTERBOX_DOCKER_URL", "WHISPER_SERVICE_URL", "AUTOMARKET_SERVICE_RUNTIME"]) delete env[key]
  return env
}

/** The README's library example: the ```js block after the marker comment. */
const readmeExample = (): string => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const marker = readme.indexOf("<!-- test/package/consumer.test.ts runs this block")
  if (marker === -1) throw new Error("README.md: the library example's marker comment is missing")
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(marker))
  if (block === null) throw new Error("README.md: no ```js block after the library example's marker")
  return block[1]!
}

interface Packed {
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly entryCount: number
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number }>
}

const timed = async <A>(label: string, f: () => Promise<A>): Promise<A> => {
  const started = performance.now()
  try {
    return await f()
  } finally {
    console.log(`package: ${label} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

const describeRun = (ran: { status: number | null; stdout: string; stderr: string }) =>
  `exit ${ran.status}\n--- stdout\n${ran.stdout.slice(-4000)}\n--- stderr\n${ran.stderr.slice(-4000)}`

describe("the packed package, installed into a new project", () => {
  const env = environment()
  let work = ""
  let app = ""
  let packed: Packed | undefined

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-package-"))
    const clone = path.join(work, "repository")
    app = path.join(work, "app")

    // A clean copy of the repository, as a fresh clone has it, with the build tools linked in.
    fs.cpSync(root, clone, { recursive: true, filter: (source) => !notCopied.has(path.relative(root, source)) })
    fs.symlinkSync(path.join(root, "node_modules"), path.join(clone, "node_modules"), "dir")

    const pack = await timed("npm pack (with the prepack build)", () =>
      run("npm", ["pack", "--json", "--pack-destination", work], { cwd: clone, env, timeout: minutes(10) })
    )
    if (pack.status !== 0) throw new Error(`npm pack failed: ${describeRun(pack)}`)
    packed = (JSON.parse(pack.stdout) as ReadonlyArray<Packed>)[0]!
    console.log(
      `package: ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} bytes unpacked, ${packed.entryCount} files`
    )

    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2))
    const install = await timed("npm install of the tarball", () =>
      run(
        "npm",
        ["install", path.join(work, packed!.filename), "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        { cwd: app, env, timeout: minutes(10) }
      )
    )
    if (install.status !== 0) throw new Error(`npm install failed: ${describeRun(install)}`)
  }, minutes(20))

  afterAll(() => {
    if (work !== "") fs.rmSync(work, { recursive: true, force: true })
  })

  it("the tarball holds what a user needs, and nothing of the repository's tests, benchmarks or scripts", () => {
    const files = packed!.files.map((file) => file.path)
    expect(files.filter((file) => !shipped.some((allowed) => allowed.test(file)))).toEqual([])
    expect(files.filter((file) => /^(test|bench|scripts|scratchpad)\//.test(file))).toEqual([])
    expect(required.filter((file) => !files.includes(file))).toEqual([])
  })

  it("the project has one copy of effect, shared by automarket and the application", async () => {
    const resolveFrom = (dir: string) => fs.realpathSync(createRequire(path.join(dir, "package.json")).resolve("effect/package.json"))
    const packageDir = path.join(app, "node_modules", "automarket")
    const copies = new Set(
      [app, packageDir, path.join(app, "node_modules", "@effect", "platform"), path.join(app, "node_modules", "@effect", "platform-node")].map(
        resolveFrom
      )
    )
    expect([...copies]).toEqual([fs.realpathSync(path.join(app, "node_modules", "effect", "package.json"))])
    const ls = await run("npm", ["ls", "effect", "--all", "--parseable"], { cwd: app, env, timeout: minutes(1) })
    expect(ls.status, describeRun(ls)).toBe(0)
    expect(new Set(ls.stdout.trim().split("\n").filter((line) => /node_modules[\\/]effect$/.test(line)))).toEqual(
      new Set([path.join(fs.realpathSync(app), "node_modules", "effect")])
    )
    // Nothing of the build: the CLI is prebuilt, the library compiled.
    for (const tool of ["tsx", "esbuild", "typescript", "@effect/cli"]) expect(fs.existsSync(path.join(app, "node_modules", tool)), tool).toBe(false)
  })

  it(
    "plain Node runs the README's library example: text-to-speech then speech-to-text on the local engines",
    async () => {
      fs.writeFileSync(path.join(app, "index.mjs"), readmeExample())
      const ran = await timed("node index.mjs (the README example)", () =>
        run(process.execPath, ["index.mjs"], { cwd: app, env, timeout: minutes(3) })
      )
      expect(ran.status, describeRun(ran)).toBe(0)
      expect(ran.stdout.toLowerCase(), describeRun(ran)).toMatch(/hello/)
    },
    minutes(4)
  )

  it(
    "a strict nodenext TypeScript project type-checks the public API against the declarations",
    async () => {
      fs.writeFileSync(
        path.join(app, "tsconfig.json"),
        JSON.stringify(
          {
            compilerOptions: {
              target: "ES2022",
              module: "nodenext",
              moduleResolution: "nodenext",
              strict: true,
              noEmit: true,
              skipLibCheck: false
            },
            files: ["consumer.ts", "example.ts"]
          },
          null,
          2
        )
      )
      fs.writeFileSync(path.join(app, "example.ts"), readmeExample())
      fs.writeFileSync(
        path.join(app, "consumer.ts"),
        `import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import { Asset, AutoMarket, Errors, FalAi, ProviderRegistry, Together } from "automarket"
// An internal module, by its path (not part of the root's API).
import { isLoopbackHost } from "automarket/http/Download"

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false

// A registry of two remote providers, configured from the environment.
const providers = AutoMarket.layerWith([Together.layer, FalAi.layer])

const generate = Effect.gen(function* () {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const image: Asset.Image = yield* registry.generate("text-to-image", Asset.text("a lighthouse at dusk"))
  return image.mimeType
})

// The error channel is exactly the tagged errors, not any.
export const typed: Equals<Effect.Effect.Error<typeof generate>, Errors.MediaError> = true

const picture = generate.pipe(
  Effect.catchTag("QuotaExceeded", (error) => Effect.succeed(\`out of credit at \${error.provider}\`)),
  Effect.catchTag("InvalidInput", (error: Errors.InvalidInput) => Effect.succeed(error.message))
)

export const loopback: boolean = isLoopbackHost("127.0.0.1")

// @ts-expect-error: not a tag of MediaError
export const unknownTag = generate.pipe(Effect.catchTag("NoSuchError", () => Effect.succeed("never")))

export const main: Effect.Effect<string, Exclude<Errors.MediaError, Errors.QuotaExceeded | Errors.InvalidInput> | ConfigError.ConfigError> =
  Effect.scoped(picture.pipe(Effect.provide(providers)))
`
      )
      const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
      const ran = await timed("tsc on the TypeScript consumer", () =>
        run(process.execPath, [tsc, "-p", "tsconfig.json", "--listFiles"], { cwd: app, env, timeout: minutes(4) })
      )
      expect(ran.status, describeRun(ran)).toBe(0)
      const program = ran.stdout.split("\n").map((file) => path.relative(fs.realpathSync(app), file).split(path.sep).join("/"))
      expect(program).toContain("node_modules/automarket/dist/index.d.ts")
      expect(program).toContain("node_modules/automarket/dist/http/Download.d.ts")
      // The declarations, never the sources shipped for the declaration maps.
      expect(program.filter((file) => file.startsWith("node_modules/automarket/src/"))).toEqual([])
    },
    minutes(5)
  )

  it(
    "npx automarket --help and npx automarket providers run the prebuilt CLI",
    async () => {
      const help = await timed("npx automarket --help", () => run("npx", ["automarket", "--help"], { cwd: app, env, timeout: minutes(2) }))
      expect(help.status, describeRun(help)).toBe(0)
      expect(help.stdout).toMatch(/USAGE/)
      const providers = await timed("npx automarket providers", () =>
        run("npx", ["automarket", "providers"], { cwd: app, env, timeout: minutes(2) })
      )
      expect(providers.status, describeRun(providers)).toBe(0)
      expect(providers.stdout).toMatch(/^ID\s+TYPE/)
      for (const local of ["ffmpeg", "chatterbox", "whisper"]) expect(providers.stdout).toMatch(new RegExp(`^${local}\\s+local\\s+yes`, "m"))
    },
    minutes(4)
  )
})
