// Bundle the CLI: src/cli/main.ts -> dist/automarket.mjs (plus the chunks it imports lazily),
// ESM for Node 20 (esbuild, tree-shaken), so that `automarket` starts without compiling TypeScript or resolving hundreds of
// modules. bin/automarket.mjs runs the bundle when it is up to date and calls `build` when not.
//
//   node scripts/build.mjs        (npm run build)
//
// Kept external: packages with native or optional parts that a bundle cannot hold (dockerode and
// its ssh2/cpu-features), loaded from node_modules as usual.
//
// `import.meta.url` in a source file is rewritten to that file's own URL, computed relative to
// the bundle, so paths next to sources (src/cli/demo/default-script.md, the package root that
// ServiceRuntime finds from it) resolve from dist/ exactly as from src/.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** The bundle's path. */
export const bundlePath = path.join(root, "dist", "automarket.mjs")

/** Packages left out of the bundle (native or optional dependencies). */
export const external = ["dockerode", "ssh2", "cpu-features", "bufferutil", "utf-8-validate"]

// dockerode (with ssh2, grpc, protobufjs) costs ~100 ms to load and only Docker mode uses it:
// the bundle gets a stand-in that loads the real package on first use (construction or any
// property read), through Node's own require.
const lazyDockerode = {
  name: "lazy-dockerode",
  setup(build) {
    build.onResolve({ filter: /^dockerode$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}`) ? undefined : { path: "dockerode", namespace: "lazy-dockerode" }
    )
    build.onLoad({ filter: /.*/, namespace: "lazy-dockerode" }, () => ({
      contents: `
        import { createRequire } from "node:module"
        let real
        const load = () => (real ??= createRequire(import.meta.url)("dockerode"))
        const Docker = new Proxy(function Docker() {}, {
          construct: (_target, args) => Reflect.construct(load(), args),
          apply: (_target, self, args) => Reflect.apply(load(), self, args),
          get: (_target, key) => Reflect.get(load(), key)
        })
        export default Docker
      `,
      loader: "js",
      resolveDir: root
    }))
  }
}

const sourceUrls = {
  name: "source-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, (args) => {
      const text = readFileSync(args.path, "utf8")
      if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" }
      const relative = path.relative(path.dirname(bundlePath), args.path).split(path.sep).join("/")
      const own = `new URL(${JSON.stringify(relative)}, import.meta.url).href`
      return { contents: text.replaceAll("import.meta.url", own), loader: "ts" }
    })
  }
}

/**
 * Build the bundle: the entry dist/automarket.mjs and its lazily imported chunks
 * (dist/automarket-chunk-*.mjs, beside it, so that the rewritten `import.meta.url`s hold for
 * them too). Written into a temporary folder and moved into place chunks first, entry last (one
 * rename), so a concurrent reader never sees half a build. Returns the entry's path.
 */
export const build = async () => {
  const esbuild = await import("esbuild")
  const dist = path.dirname(bundlePath)
  const temporary = path.join(dist, `.build-${process.pid}`)
  mkdirSync(temporary, { recursive: true })
  try {
    await esbuild.build({
      entryPoints: { automarket: path.join(root, "src", "cli", "main.ts") },
      outdir: temporary,
      outExtension: { ".js": ".mjs" },
      chunkNames: "automarket-chunk-[hash]",
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      external,
      plugins: [lazyDockerode, sourceUrls],
      // CommonJS dependencies inside an ESM bundle still call require() for Node's built-ins.
      banner: { js: "import { createRequire as __automarketRequire } from 'node:module'; const require = __automarketRequire(import.meta.url);" },
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: "none",
      logLevel: "warning"
    })
    const built = readdirSync(temporary)
    for (const file of built) if (file !== "automarket.mjs") renameSync(path.join(temporary, file), path.join(dist, file))
    renameSync(path.join(temporary, "automarket.mjs"), bundlePath)
    // Chunks of earlier builds: removed once no process started then can still want them.
    const now = Date.now()
    for (const file of readdirSync(dist)) {
      if (!file.startsWith("automarket-chunk-") || built.includes(file)) continue
      const stale = path.join(dist, file)
      if (now - statSync(stale).mtimeMs > 10 * 60_000) rmSync(stale, { force: true })
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true })
  }
  return bundlePath
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const started = performance.now()
  await build()
  console.log(`built ${path.relative(root, bundlePath)} in ${Math.round(performance.now() - started)} ms`)
}
