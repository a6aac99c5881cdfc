// The build. Two outputs in dist/, kept apart:
//
// - the library: `tsc -p tsconfig.build.json` emits ESM JavaScript, .d.ts and declaration maps
//   to dist/, mirroring src/ (dist/index.js is the package's `exports["."]`);
// - the CLI bundle: src/cli/main.ts -> dist/cli-bundle/automarket.mjs (plus the chunks it imports
//   lazily), ESM for Node 20 (esbuild, tree-shaken), so that `automarket` starts without
//   compiling TypeScript or resolving hundreds of modules. bin/automarket.mjs runs it; in a clone
//   it calls `build` first when the bundle is older than src/.
//
//   node scripts/build.mjs          (npm run build, and prepack) the library and the bundle
//   node scripts/build.mjs --cli    the bundle only (scripts/docker-images.sh)
//
// Kept out of the bundle: packages with native or optional parts that a bundle cannot hold
// (dockerode and its ssh2/cpu-features; better-sqlite3, the embedded workflow engine's SQLite,
// which finds its compiled addon from its own folder), loaded from node_modules as usual.
//
// `import.meta.url` in a source file is rewritten to the URL that file would have inside
// dist/cli-bundle/ (src/cli/demo/Script.ts -> dist/cli-bundle/cli/demo/Script.js), and the
// data files of src/ (src/cli/demo/default-script.md ...) are copied there, so that paths next
// to sources resolve within the bundle's folder, in a clone and in the installed package alike;
// the package root (ProcessRuntime's `packageRoot`) is found above it.
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const srcDir = path.join(root, "src")
const distDir = path.join(root, "dist")

/** The folder of the CLI bundle (entry, chunks, data files). */
export const bundleDir = path.join(distDir, "cli-bundle")

/** The bundle's entry. */
export const bundlePath = path.join(bundleDir, "automarket.mjs")

/** Packages left out of the bundle (native or optional dependencies). */
export const external = ["dockerode", "ssh2", "cpu-features", "bufferutil", "utf-8-validate", "better-sqlite3", "pg", "pg-native"]

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

/** A file of src/ as the path of its stand-in inside the bundle's folder, relative to it (`cli/demo/Script.js`). */
const insideBundle = (sourceFile) => path.relative(srcDir, sourceFile).replace(/\.ts$/, ".js").split(path.sep).join("/")

const sourceUrls = {
  name: "source-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(srcDir + path.sep)) return undefined
      const text = readFileSync(args.path, "utf8")
      if (!text.includes("import.meta.url")) return { contents: text, loader: "ts" }
      const own = `new URL(${JSON.stringify(insideBundle(args.path))}, import.meta.url).href`
      return { contents: text.replaceAll("import.meta.url", own), loader: "ts" }
    })
  }
}

/** The data files of src/ that code finds next to itself: everything but TypeScript and the Dockerfiles. */
const dataFiles = () =>
  readdirSync(srcDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".ts") && entry.name !== "Dockerfile")
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name))

const isChunk = (file) => file.startsWith("automarket-chunk-") && file.endsWith(".mjs")

/**
 * Build the bundle: the entry dist/cli-bundle/automarket.mjs, its lazily imported chunks
 * (dist/cli-bundle/automarket-chunk-*.mjs, beside it, so that the rewritten `import.meta.url`s
 * hold for them too) and the data files. Written into a temporary folder and moved into place
 * data and chunks first, entry last (one rename), so a concurrent reader never sees half a build.
 * Chunks of earlier builds are removed once no process started then can still want them (10
 * minutes), or at once with `{ prune: true }` (the full build, what ships). Returns the entry's path.
 */
export const build = async ({ prune = false } = {}) => {
  const esbuild = await import("esbuild")
  const temporary = path.join(bundleDir, `.build-${process.pid}`)
  mkdirSync(temporary, { recursive: true })
  try {
    await esbuild.build({
      entryPoints: { automarket: path.join(srcDir, "cli", "main.ts") },
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
    for (const [index, file] of dataFiles().entries()) {
      const target = path.join(bundleDir, insideBundle(file))
      const staged = path.join(temporary, `data-${index}`)
      copyFileSync(file, staged)
      mkdirSync(path.dirname(target), { recursive: true })
      renameSync(staged, target)
    }
    const built = readdirSync(temporary).filter(isChunk)
    for (const file of built) renameSync(path.join(temporary, file), path.join(bundleDir, file))
    renameSync(path.join(temporary, "automarket.mjs"), bundlePath)
    const now = Date.now()
    for (const file of readdirSync(bundleDir)) {
      if (!isChunk(file) || built.includes(file)) continue
      const stale = path.join(bundleDir, file)
      if (prune || now - statSync(stale).mtimeMs > 10 * 60_000) rmSync(stale, { force: true })
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true })
  }
  return bundlePath
}

/**
 * Build the library: whatever an earlier build left in dist/ is removed (except the bundle's
 * folder, which a running CLI may be reading), then tsc emits dist/ from tsconfig.build.json.
 */
export const buildLibrary = () => {
  mkdirSync(distDir, { recursive: true })
  for (const entry of readdirSync(distDir)) {
    if (entry !== path.basename(bundleDir)) rmSync(path.join(distDir, entry), { recursive: true, force: true })
  }
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "tsconfig.build.json")], { cwd: root, stdio: ["ignore", 2, 2] })
}

// Progress goes to stderr, so that `npm pack --json` (which runs this as prepack) keeps a clean stdout.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const cliOnly = process.argv.includes("--cli")
  let started = performance.now()
  if (!cliOnly) {
    buildLibrary()
    console.error(`built the library (dist/) in ${Math.round(performance.now() - started)} ms`)
    started = performance.now()
  }
  await build({ prune: !cliOnly })
  console.error(`built ${path.relative(root, bundlePath)} in ${Math.round(performance.now() - started)} ms`)
}
