// The steps of `cargo leptos build --release --precompress` that come after
// the compilers, for scripts/build-site.sh, which builds the site without
// compiling cargo-leptos (0.3.10; see its src/compile/{front,hash}.rs and
// src/ext/compress.rs, which these steps follow so both give the same site):
//
//   node scripts/site.mjs minify FILE            swc, as cargo-leptos minifies the JS
//   node scripts/site.mjs hash PKG_DIR JS WASM CSS HASH_TXT
//                                               content-hash the pkg file names
//   node scripts/site.mjs precompress SITE_DIR   a .br and a .gz beside every file
//   node scripts/site.mjs compare SITE_A HASH_A SITE_B HASH_B
//                                               exit 1 unless both sites are the same
//
// @swc/core comes from the tools folder (scripts/ensure-tools.sh installs it).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const [command, ...args] = process.argv.slice(2);

function minify(file) {
  const tools = process.env.CONSOLE_TOOLS_DIR;
  const { minifySync } = createRequire(path.join(tools, 'package.json'))('@swc/core');
  const code = fs.readFileSync(file, 'utf8');
  // cargo-leptos: compress, mangle, module; everything else swc's default.
  const out = minifySync(code, { compress: true, mangle: true, module: true });
  fs.writeFileSync(file, out.code);
}

function filesUnder(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(full));
    else if (entry.isFile()) found.push(full);
  }
  return found;
}

// MD5, base64url without padding: 22 characters, as cargo-leptos names them.
function contentHash(file) {
  return createHash('md5').update(fs.readFileSync(file)).digest('base64url');
}

function hash(pkgDir, jsName, wasmName, cssName, hashTxt) {
  const renamed = new Map();
  const hashes = new Map();
  for (const file of filesUnder(pkgDir)) {
    const ext = path.extname(file);
    // Other stylesheets and wasm-bindgen's snippets keep their names.
    if (ext === '.css' && path.basename(file) !== cssName) continue;
    if (file.includes('snippets')) continue;
    const stem = path.basename(file, ext);
    const digest = contentHash(file);
    if (stem === digest) continue;
    const target = path.join(path.dirname(file), `${stem}.${digest}${ext}`);
    fs.renameSync(file, target);
    renamed.set(path.relative(pkgDir, file), path.relative(pkgDir, target));
    hashes.set(path.basename(file), digest);
  }
  // The JS names the other files; it is rewritten after its own name was
  // hashed, as cargo-leptos does (its hash is of the JS before this).
  const js = path.join(pkgDir, renamed.get(jsName));
  let text = fs.readFileSync(js, 'utf8');
  for (const [from, to] of renamed) text = text.split(from).join(to);
  fs.writeFileSync(js, text);
  fs.mkdirSync(path.dirname(hashTxt), { recursive: true });
  const line = (name) => `${path.extname(name).slice(1)}: ${hashes.get(name)}\n`;
  fs.writeFileSync(hashTxt, line(jsName) + line(wasmName) + line(cssName));
}

function precompress(siteDir) {
  for (const file of filesUnder(siteDir)) {
    if (file.endsWith('.gz') || file.endsWith('.br')) continue;
    const data = fs.readFileSync(file);
    fs.writeFileSync(`${file}.gz`, zlib.gzipSync(data, { level: 9 }));
    // Quality 11, window 22: the brotli crate's defaults cargo-leptos uses.
    fs.writeFileSync(
      `${file}.br`,
      zlib.brotliCompressSync(data, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_LGWIN]: 22,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      }),
    );
  }
}

// Two sites are the same when they hold the same files with the same bytes,
// their hash files agree, and every .br and .gz unpacks to the file beside
// it. The compressed bytes themselves may differ: cargo-leptos uses Rust
// encoders, this script Node's zlib.
function compare(siteA, hashA, siteB, hashB) {
  const problems = [];
  const list = (site) =>
    new Set(filesUnder(site).map((f) => path.relative(site, f)));
  const a = list(siteA);
  const b = list(siteB);
  for (const f of a) if (!b.has(f)) problems.push(`only in ${siteA}: ${f}`);
  for (const f of b) if (!a.has(f)) problems.push(`only in ${siteB}: ${f}`);
  for (const f of a) {
    if (!b.has(f)) continue;
    const bytesA = fs.readFileSync(path.join(siteA, f));
    const bytesB = fs.readFileSync(path.join(siteB, f));
    if (f.endsWith('.gz') || f.endsWith('.br')) {
      const unpack = f.endsWith('.gz') ? zlib.gunzipSync : zlib.brotliDecompressSync;
      const original = fs.readFileSync(path.join(siteA, f.slice(0, -3)));
      for (const [site, bytes] of [[siteA, bytesA], [siteB, bytesB]]) {
        if (!unpack(bytes).equals(original)) problems.push(`${site}/${f} does not unpack to its file`);
      }
    } else if (!bytesA.equals(bytesB)) {
      problems.push(`differs: ${f} (${bytesA.length} and ${bytesB.length} bytes)`);
    }
  }
  const textA = fs.readFileSync(hashA, 'utf8');
  const textB = fs.readFileSync(hashB, 'utf8');
  if (textA !== textB) problems.push(`hash files differ:\n${textA}---\n${textB}`);
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
  console.log(`same site: ${a.size} files, ${textA.trim().split('\n').join(', ')}`);
}

switch (command) {
  case 'minify':
    minify(...args);
    break;
  case 'hash':
    hash(...args);
    break;
  case 'precompress':
    precompress(...args);
    break;
  case 'compare':
    compare(...args);
    break;
  default:
    console.error('usage: node scripts/site.mjs minify|hash|precompress|compare ...');
    process.exit(2);
}
