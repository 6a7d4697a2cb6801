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

// A name holding this placeholder gets the hash in its place (the wasm
// split's loader, whose name the wasm and the JS import).
const PLACEHOLDER = '_'.repeat(22);
const LOADER = `__wasm_split.${PLACEHOLDER}.js`;
const MANIFEST = '__wasm_split_manifest.json';

function replaceInText(file, renamed) {
  let text = fs.readFileSync(file, 'utf8');
  for (const [from, to] of renamed) text = text.split(from).join(to);
  fs.writeFileSync(file, text);
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
    const name = path.basename(file);
    const hashed = name.includes(PLACEHOLDER) ? name.split(PLACEHOLDER).join(digest) : `${stem}.${digest}${ext}`;
    const target = path.join(path.dirname(file), hashed);
    fs.renameSync(file, target);
    renamed.set(path.relative(pkgDir, file), path.relative(pkgDir, target));
    hashes.set(name, digest);
  }
  // The JS names the other files; it is rewritten after its own name was
  // hashed, as cargo-leptos does (its hash is of the JS before this).
  const js = path.join(pkgDir, renamed.get(jsName));
  replaceInText(js, renamed);
  let split = '';
  if (renamed.has(LOADER)) {
    // The loader names the JS and the split modules; the wasm modules and the
    // manifest name the loader. Rewriting the loader changes its hash, so it
    // is renamed once more and the references follow (cargo-leptos's order).
    const loaderName = renamed.get(LOADER);
    const loader = path.join(pkgDir, loaderName);
    replaceInText(loader, renamed);
    replaceSplitReferences(pkgDir, LOADER, loaderName, renamed);
    const digest = contentHash(loader);
    if (digest !== hashes.get(LOADER)) {
      const rehashed = `__wasm_split.${digest}.js`;
      fs.renameSync(loader, path.join(pkgDir, rehashed));
      const again = new Map([[loaderName, rehashed]]);
      replaceSplitReferences(pkgDir, loaderName, rehashed, again);
      replaceInText(js, again);
    }
    split = `split: ${digest}\n`;
  }
  fs.mkdirSync(path.dirname(hashTxt), { recursive: true });
  const line = (name) => `${path.extname(name).slice(1)}: ${hashes.get(name)}\n`;
  const manifest = hashes.has(MANIFEST) ? `manifest: ${hashes.get(MANIFEST)}\n` : '';
  fs.writeFileSync(hashTxt, line(jsName) + line(wasmName) + line(cssName) + manifest + split);
}

// The loader's name, byte for byte, in every wasm module of the pkg dir (the
// names are of equal length), and the chunk names in the manifest, which is
// written compact with sorted keys (serde_json's map in cargo-leptos).
function replaceSplitReferences(pkgDir, from, to, renamed) {
  const stems = new Map();
  for (const [a, b] of renamed) {
    if (a.endsWith('.wasm') && b.endsWith('.wasm')) stems.set(a.slice(0, -5), b.slice(0, -5));
  }
  const fromBytes = Buffer.from(from);
  const toBytes = Buffer.from(to);
  for (const entry of fs.readdirSync(pkgDir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(pkgDir, entry.name);
    if (entry.name.endsWith('.wasm')) {
      const bytes = fs.readFileSync(file);
      for (let at = bytes.indexOf(fromBytes); at !== -1; at = bytes.indexOf(fromBytes, at + 1)) {
        toBytes.copy(bytes, at);
      }
      fs.writeFileSync(file, bytes);
    } else if (entry.name.startsWith('__wasm_split_manifest')) {
      fs.writeFileSync(file, JSON.stringify(sortedManifest(JSON.parse(fs.readFileSync(file, 'utf8')), stems)));
    }
  }
}

function sortedManifest(value, stems) {
  if (Array.isArray(value)) return value.map((item) => sortedManifest(item, stems));
  if (typeof value === 'string') return stems.get(value) ?? value;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedManifest(value[key], stems)]));
  }
  return value;
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
//
// Two split files differ from build to build even in cargo-leptos, as Rust
// HashMaps order them: the manifest (named by the hash of its first, pretty
// form) and the loader (which lists the shared imports in HashMap order, and
// whose name the JS and the wasm modules carry). So names holding their hash
// are compared without it, each site's loader name is blanked in its files,
// the loader's brace lists are compared sorted, and each hash file must name
// its own manifest and loader.
const VARYING = /^(.*\/)?(__wasm_split_manifest|__wasm_split)\.([A-Za-z0-9_-]{22})\.(json|js)/;

function comparable(site, file, loader) {
  let bytes = fs.readFileSync(path.join(site, file));
  if (loader) {
    const name = Buffer.from(loader);
    const blank = Buffer.from(loader.replace(/[A-Za-z0-9_-]{22}/, PLACEHOLDER));
    for (let at = bytes.indexOf(name); at !== -1; at = bytes.indexOf(name, at + 1)) blank.copy(bytes, at);
  }
  if (/^(.*\/)?__wasm_split\.[^/]*\.js$/.test(file)) {
    const sorted = bytes.toString('utf8').replace(/\{ ((?:[\w$]+, )+) \}/g, (_, list) =>
      `{ ${list.split(', ').filter(Boolean).sort().join(', ')},  }`);
    bytes = Buffer.from(sorted);
  }
  return bytes;
}

function compare(siteA, hashA, siteB, hashB) {
  const problems = [];
  const list = (site) => {
    const files = new Map();
    for (const file of filesUnder(site)) {
      const relative = path.relative(site, file);
      files.set(relative.replace(VARYING, '$1$2.$4'), relative);
    }
    return files;
  };
  const a = list(siteA);
  const b = list(siteB);
  const loaderA = a.has('pkg/__wasm_split.js') ? path.basename(a.get('pkg/__wasm_split.js')) : undefined;
  const loaderB = b.has('pkg/__wasm_split.js') ? path.basename(b.get('pkg/__wasm_split.js')) : undefined;
  for (const f of a.keys()) if (!b.has(f)) problems.push(`only in ${siteA}: ${f}`);
  for (const f of b.keys()) if (!a.has(f)) problems.push(`only in ${siteB}: ${f}`);
  for (const [f, fileA] of a) {
    if (!b.has(f)) continue;
    const fileB = b.get(f);
    if (f.endsWith('.gz') || f.endsWith('.br')) {
      const unpack = f.endsWith('.gz') ? zlib.gunzipSync : zlib.brotliDecompressSync;
      for (const [site, file] of [[siteA, fileA], [siteB, fileB]]) {
        const original = fs.readFileSync(path.join(site, file.slice(0, -3)));
        if (!unpack(fs.readFileSync(path.join(site, file))).equals(original)) {
          problems.push(`${site}/${file} does not unpack to its file`);
        }
      }
      continue;
    }
    const bytesA = comparable(siteA, fileA, loaderA);
    const bytesB = comparable(siteB, fileB, loaderB);
    if (!bytesA.equals(bytesB)) problems.push(`differs: ${f} (${bytesA.length} and ${bytesB.length} bytes)`);
  }
  const named = (site, files, text) => {
    for (const [key, file] of [['manifest', 'pkg/__wasm_split_manifest.json'], ['split', 'pkg/__wasm_split.js']]) {
      const line = new RegExp(`^${key}: (.*)$`, 'm');
      const inHashFile = text.match(line)?.[1];
      const inName = files.get(file)?.match(VARYING)?.[3];
      if (inHashFile !== inName) problems.push(`${site}: its hash file names ${key} ${inHashFile}, its file ${inName}`);
      text = text.replace(line, `${key}: (its own)`);
    }
    return text;
  };
  const textA = named(siteA, a, fs.readFileSync(hashA, 'utf8'));
  const textB = named(siteB, b, fs.readFileSync(hashB, 'utf8'));
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
