// The build. Two outputs in dist/, kept apart:
//
// - the library: `tsc -p tsconfig.build.json` emits ESM JavaScript, .d.ts and declaration maps
//   to dist/, mirroring src/ (dist/index.js is the package's `exports["."]`);
// - the CLI bundle: src/cli/main.ts -> dist/cli-bundle/automarket.cjs, one file for Node 20
//   (esbuild, tree-shaken), so that `automarket` starts without compiling TypeScript or resolving
//   hundreds of modules, and V8 can cache its compiled code (see `build`). bin/automarket.mjs runs
//   it; in a clone it calls `build` first when the bundle is older than src/.
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
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const srcDir = path.join(root, "src")
const distDir = path.join(root, "dist")

/** The folder of the CLI bundle (the bundle, its data files, and the caches bin/automarket.mjs keeps of it). */
export const bundleDir = path.join(distDir, "cli-bundle")

/** The bundle. */
export const bundlePath = path.join(bundleDir, "automarket.cjs")

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

// What runs of the bundle leave beside it (bin/automarket.mjs): its code cache and printed
// pages, and their temporary files. A new bundle makes them stale, and none is shipped.
const isCache = (file) => /^automarket\.cjs\.(code-cache|pages\.json)(\.\d+\.tmp)?$/.test(file)

// Left by the builds before the script bundle (an ES module with lazily imported chunks).
const isOldOutput = (file) => file === "automarket.mjs" || (file.startsWith("automarket-chunk-") && file.endsWith(".mjs"))

/**
 * Build the bundle: dist/cli-bundle/automarket.cjs, the whole CLI in one file (what it imports
 * lazily is held in it and evaluated on first use), and the data files beside it.
 *
 * The file is one function expression, `(function (require, module, exports, __filename,
 * __dirname, __automarketUrl) { ... })`, CommonJS inside, with every `import.meta.url` replaced by
 * `__automarketUrl`: bin/automarket.mjs compiles it as a `vm.Script`, which, unlike an ES module
 * on Node 20, takes a V8 code cache. Strict mode, as the ES module output ran. ASCII only, so it is
 * read as latin1 without decoding UTF-8.
 *
 * Written into a temporary folder and moved into place data first, entry last (one rename), so a
 * concurrent reader never sees half a build; the caches of the earlier bundle are removed (they
 * would be ignored anyway: they name the bundle they came from). `prune` also removes what builds
 * of the earlier layout left. Returns the entry's path.
 */
export const build = async ({ prune = false } = {}) => {
  const esbuild = await import("esbuild")
  const temporary = path.join(bundleDir, `.build-${process.pid}`)
  mkdirSync(temporary, { recursive: true })
  try {
    await esbuild.build({
      entryPoints: { automarket: path.join(srcDir, "cli", "main.ts") },
      outdir: temporary,
      outExtension: { ".js": ".cjs" },
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      external,
      plugins: [lazyDockerode, sourceUrls],
      define: { "import.meta.url": "__automarketUrl" },
      banner: { js: '(function (require, module, exports, __filename, __dirname, __automarketUrl) { "use strict";' },
      footer: { js: "})" },
      charset: "ascii",
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
    renameSync(path.join(temporary, "automarket.cjs"), bundlePath)
    for (const file of readdirSync(bundleDir)) {
      if (isCache(file) || (prune && isOldOutput(file))) rmSync(path.join(bundleDir, file), { force: true })
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
