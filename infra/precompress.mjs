// Writes `<file>.br` and `<file>.gz` beside every compressible file of a built site (default
// dist/), so `ferry serve` can send them to browsers that accept them (tower-http's ServeDir
// with precompressed_br/precompressed_gzip) instead of the raw 800 KB wasm. CloudFront
// compresses on its own (`Compress: true`), so the deploy does not upload these.
//
//     node infra/precompress.mjs [dist]
//
// Node's zlib has both brotli and gzip, and Node is already a build tool here (binaryen's
// wasm-opt comes from npm), so this adds no dependency. Running it twice rewrites the same files.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

const COMPRESSIBLE = new Set([".html", ".js", ".mjs", ".css", ".wasm", ".svg", ".json", ".txt"]);
const MIN_BYTES = 512; // below this the headers outweigh the saving

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (entry.isFile()) yield full;
  }
}

const dist = process.argv[2] ?? "dist";
let written = 0;
let before = 0;
let after = 0;
for (const file of files(dist)) {
  if (!COMPRESSIBLE.has(path.extname(file))) continue;
  const raw = fs.readFileSync(file);
  if (raw.length < MIN_BYTES) continue;
  const br = zlib.brotliCompressSync(raw, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
    },
  });
  const gz = zlib.gzipSync(raw, { level: zlib.constants.Z_BEST_COMPRESSION });
  fs.writeFileSync(`${file}.br`, br);
  fs.writeFileSync(`${file}.gz`, gz);
  written += 1;
  before += raw.length;
  after += br.length;
}
console.log(`precompress: ${written} file(s), ${before} bytes -> ${after} bytes brotli`);
