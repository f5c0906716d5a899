// Bundle the compiled `lib/` of the npm package `neuroglancer` into a flat,
// self-contained static web app.
//
// Usage: node bundle.mjs <workdir-with-node_modules> <outdir>
//
// Output layout (everything flat in <outdir>, served under any URL prefix,
// e.g. /neuroglancer/):
//   index.html, main.bundle.js, main.bundle.css, chunk_worker.bundle.js,
//   async_computation.bundle.js, *.wasm, google_oauth2_redirect.html,
//   bossauth.html, LICENSE files, BUILD_INFO.json
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [workDir, outDirArg] = process.argv.slice(2);
if (!workDir || !outDirArg) {
  console.error("usage: node bundle.mjs <workdir> <outdir>");
  process.exit(2);
}
const outDir = path.resolve(outDirArg);
// Resolve esbuild and neuroglancer from the work dir's node_modules (this
// script may live elsewhere).
const require = createRequire(path.join(path.resolve(workDir), "package.json"));
const esbuild = await import(pathToFileURL(require.resolve("esbuild")).href);
const ngRoot = path.join(path.resolve(workDir), "node_modules/neuroglancer");
const ngPkg = JSON.parse(fs.readFileSync(path.join(ngRoot, "package.json")));
const lib = path.join(ngRoot, "lib");
const ikonateIcons = path.join(path.resolve(workDir), "node_modules/ikonate/icons");

// Placeholder used when an icon is not vendored (a 24x24 outlined square).
const PLACEHOLDER_SVG =
  '<svg width="24" height="24" viewBox="0 0 24 24" xmlns="http://www.w3.org/2000/svg"><rect x="4" y="4" width="16" height="16"/></svg>';

// Patch 1: `ikonate` is a git-only dependency. Its icons are imported as
// `ikonate/icons/<name>.svg?raw` (a Vite/webpack "raw" query esbuild does not
// understand). Resolve them to the vendored SVG (stub/ikonate/icons) or to a
// placeholder, loaded as a text string.
const iconStats = { vendored: 0, placeholder: [] };
const ikonatePlugin = {
  name: "ikonate-raw-svg",
  setup(build) {
    build.onResolve({ filter: /^ikonate\/icons\/.*\.svg(\?raw)?$/ }, (args) => ({
      path: args.path.replace(/\?raw$/, ""),
      namespace: "ikonate-svg",
    }));
    build.onLoad({ filter: /.*/, namespace: "ikonate-svg" }, (args) => {
      const file = path.join(ikonateIcons, path.basename(args.path));
      let contents = PLACEHOLDER_SVG;
      if (fs.existsSync(file)) {
        contents = fs.readFileSync(file, "utf8");
        iconStats.vendored++;
      } else {
        iconStats.placeholder.push(path.basename(args.path));
      }
      return { contents, loader: "text" };
    });
  },
};

// Patch 2: lib/async_computation/request.js creates its worker with
// `new URL("../async_computation.bundle.js", import.meta.url)`: in the source
// tree it lives one directory below the bundle. After flat bundling,
// import.meta.url is the URL of the bundle itself (e.g.
// /neuroglancer/chunk_worker.bundle.js), so "../" would escape the prefix and
// request /async_computation.bundle.js at the server root. Rewrite to "./".
let rewrites = 0;
const workerUrlPlugin = {
  name: "flat-async-computation-url",
  setup(build) {
    build.onLoad({ filter: /[\\/]async_computation[\\/]request\.js$/ }, (args) => {
      const src = fs.readFileSync(args.path, "utf8");
      const needle = 'new URL("../async_computation.bundle.js", import.meta.url)';
      if (!src.includes(needle)) {
        throw new Error(`expected worker URL not found in ${args.path}`);
      }
      rewrites++;
      return {
        contents: src.replace(needle, 'new URL("./async_computation.bundle.js", import.meta.url)'),
        loader: "js",
      };
    });
  },
};

fs.mkdirSync(outDir, { recursive: true });
const t0 = Date.now();
const result = await esbuild.build({
  entryPoints: {
    "main.bundle": path.join(lib, "main.bundle.js"),
    "chunk_worker.bundle": path.join(lib, "chunk_worker.bundle.js"),
    "async_computation.bundle": path.join(lib, "async_computation.bundle.js"),
  },
  outdir: outDir,
  bundle: true,
  format: "esm", // workers are created with {type: "module"}
  platform: "browser",
  target: ["es2022"],
  splitting: false, // each bundle self-contained; no extra chunk files
  minify: true,
  sourcemap: process.env.NG_SOURCEMAP === "1" ? "linked" : false,
  legalComments: "linked", // third-party licence comments -> *.LEGAL.txt
  logLevel: "warning",
  metafile: true,
  define: {
    NEUROGLANCER_BUILD_INFO: JSON.stringify({
      tag: `neuroglancer@${ngPkg.version} (npm, esbuild static build)`,
      url: `https://github.com/google/neuroglancer/releases/tag/v${ngPkg.version}`,
    }),
  },
  plugins: [ikonatePlugin, workerUrlPlugin],
});
if (rewrites === 0) throw new Error("async_computation URL rewrite was not applied");
console.log(`  ikonate icons: ${iconStats.vendored} vendored, ${iconStats.placeholder.length} placeholder ${iconStats.placeholder.join(" ")}`);

// Runtime assets referenced via `new URL("./x", import.meta.url)`; with the
// flat layout they must sit next to the bundles.
const assets = [
  "mesh/draco/neuroglancer_draco.wasm",
  "sliceview/png/libpng.wasm",
  "sliceview/jxl/jxl_decoder.wasm",
  "sliceview/compresso/compresso.wasm",
  "util/google_oauth2_redirect.html",
  "datasource/boss/bossauth.html",
];
for (const a of assets) fs.copyFileSync(path.join(lib, a), path.join(outDir, path.basename(a)));
fs.copyFileSync(path.join(ngRoot, "LICENSE"), path.join(outDir, "LICENSE.neuroglancer.txt"));
const ikLicense = path.join(path.resolve(workDir), "node_modules/ikonate/LICENSE");
if (fs.existsSync(ikLicense)) fs.copyFileSync(ikLicense, path.join(outDir, "LICENSE.ikonate.txt"));

// Sanity check: every `new URL("...", import.meta.url)` in the output must be
// a "./" reference to a file that exists in outDir.
const problems = [];
for (const f of fs.readdirSync(outDir).filter((f) => f.endsWith(".js"))) {
  const text = fs.readFileSync(path.join(outDir, f), "utf8");
  for (const m of text.matchAll(/new URL\(\s*["'`]([^"'`]+)["'`]\s*,\s*import\.meta\.url\s*\)/g)) {
    const ref = m[1];
    if (!ref.startsWith("./") || !fs.existsSync(path.join(outDir, ref.slice(2)))) {
      problems.push(`${f}: ${ref}`);
    } else {
      console.log(`  ${f} -> ${ref}`);
    }
  }
}
if (problems.length) throw new Error("unresolved import.meta.url references:\n" + problems.join("\n"));

const css = fs.existsSync(path.join(outDir, "main.bundle.css"));
fs.writeFileSync(
  path.join(outDir, "index.html"),
  `<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>neuroglancer</title>
    <link rel="icon" href="data:,">
${css ? '    <link rel="stylesheet" href="./main.bundle.css">\n' : ""}    <script type="module" src="./main.bundle.js"></script>
  </head>
  <body></body>
</html>
`,
);
fs.writeFileSync(
  path.join(outDir, "BUILD_INFO.json"),
  JSON.stringify(
    { neuroglancer: ngPkg.version, esbuild: esbuild.version, node: process.version },
    null,
    2,
  ) + "\n",
);
console.log(`esbuild ${esbuild.version}: bundled neuroglancer ${ngPkg.version} in ${Date.now() - t0} ms`);
for (const [f, o] of Object.entries(result.metafile.outputs)) {
  console.log(`  ${path.relative(outDir, f)}  ${o.bytes} bytes`);
}
