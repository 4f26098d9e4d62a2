/**
 * Bundles the CLI (src/cli/main.ts and everything it requires, npm packages included) into one
 * CommonJS file, `<out>/stapelkit.js`, for bin/stapelkit. One file instead of ~350 is what makes a
 * short command start fast: no module resolution (package.json lookups, stats) per file, and one
 * V8 code cache for the whole CLI (see bin/stapelkit). Lazy `require()`s stay lazy in the bundle
 * (esbuild runs a required module's top level on its first require). grpc-js and protobufjs stay
 * outside it, required from node_modules by the first gRPC call: a no-op build or a compile never
 * needs them, and leaving them out halves the bundle (and the code cache) every start reads.
 *
 *   node --import tsx scripts/bundle.ts [--out-dir dist]
 *
 * `make build` runs it after tsc (tsc type-checks and still emits dist/src for the frontend image,
 * the integration helpers and `node dist/src/cli/main.js`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

export const BUNDLE_NAME = 'stapelkit.js';
/** Code caches bin/stapelkit writes next to the bundle, one per command; a new bundle starts with none. */
export const CODE_CACHE_DIR = '.v8-cache';

/** Only needed for solves (src/buildkit/grpc-js.ts, src/proto.ts load them on first use). */
const EXTERNAL = ['@grpc/grpc-js', 'protobufjs'];

/**
 * esbuild's `__toESM` copies every property of a module into a fresh namespace object at each
 * `import * as x` — ~90 times for node:fs, node:path, node:crypto… in this CLI. One namespace per
 * module (and interop mode) is enough: namespaces are read-only. Left as is when esbuild's helper
 * reads differently (a newer esbuild): only slower.
 */
export function shareNamespaces(code: string): string {
  // esbuild's spelling, with or without minifyWhitespace.
  const helper = /var __toESM ?= ?\(mod, ?isNodeMode, ?target\) ?=>/g;
  const nextRe = /var __toCommonJS ?=/g;
  const h = code.match(helper);
  const n = code.match(nextRe);
  if (h?.length !== 1 || n?.length !== 1) return code;
  const next = n[0];
  return code.replace(h[0], 'var __toESMFresh = (mod, isNodeMode, target) =>').replace(
    next,
    [
      'var __toESMShared = new WeakMap();',
      'var __toESM = (mod, isNodeMode) => {',
      '  if (mod == null || (typeof mod !== "object" && typeof mod !== "function")) return __toESMFresh(mod, isNodeMode);',
      '  let byMode = __toESMShared.get(mod);',
      '  if (!byMode) __toESMShared.set(mod, (byMode = [undefined, undefined]));',
      '  return (byMode[isNodeMode ? 1 : 0] ??= __toESMFresh(mod, isNodeMode));',
      '};',
      next,
    ].join('\n'),
  );
}

export function bundleCli(outDir: string): { file: string; bytes: number } {
  const file = path.join(outDir, BUNDLE_NAME);
  const out = buildSync({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: EXTERNAL,
    // Whitespace and comments only: names stay (messages and stacks that show them read the same);
    // --debug runs dist/src, whose stacks name the source files. Comments dropped leave the bundle
    // ASCII (esbuild escapes strings), which bin/stapelkit reads as a one-byte string: a third less
    // to read and no UTF-8 decoding on every start.
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  fs.mkdirSync(outDir, { recursive: true });
  const code = shareNamespaces(out.outputFiles[0].text);
  // Non-ASCII left in the bundle (a regexp literal) costs every start a UTF-8 decode: name it.
  const stray = /[^\x00-\x7f]/.exec(code);
  if (stray) process.stderr.write(`bundle: non-ASCII ${JSON.stringify(stray[0])} near ${JSON.stringify(code.slice(Math.max(0, stray.index - 40), stray.index + 10))}: bin/stapelkit will decode it as UTF-8 (slower start)\n`);
  fs.writeFileSync(file, code);
  fs.rmSync(path.join(outDir, CODE_CACHE_DIR), { recursive: true, force: true });
  return { file, bytes: fs.statSync(file).size };
}

if (require.main === module) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = path.resolve(ROOT, i >= 0 ? process.argv[i + 1] : 'dist');
  const r = bundleCli(outDir);
  process.stdout.write(`bundled the CLI into ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
}
