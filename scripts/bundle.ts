/**
 * Bundles the CLI (src/cli/main.ts and everything it requires, npm packages included) into one
 * CommonJS file, `<out>/stapelkit.js`, for bin/stapelkit. One file instead of ~350 is what makes a
 * short command start fast: no module resolution (package.json lookups, stats) per file, and one
 * V8 code cache for the whole CLI (see bin/stapelkit). Lazy `require()`s stay lazy in the bundle
 * (esbuild runs a required module's top level on its first require). grpc-js and protobufjs stay
 * outside it: a no-op build or an offline compile never needs them, and leaving them out halves
 * the bundle (and the code cache) every start reads. They are bundled on their own instead,
 * `<out>/stapelkit-rpc.js` (src/buildkit/rpc-bundle.ts), which bin/stapelkit.cjs loads — with a
 * code cache of its own — on the first gRPC call, beside `<out>/proto.json`, proto/ parsed once
 * here (src/util/rpc-deps.ts).
 *
 * The frontend image's entry (src/frontend/main.ts) is bundled the same way into
 * `<out>/frontend.js`, protobufjs included: every frontend run speaks protobuf from its first call
 * (Ping), and with nothing left outside the bundle the image needs no node_modules. Its code cache
 * is baked into the image at image build time (bin/stapelkit-frontend, scripts/frontend-image.ts).
 *
 *   node --import tsx scripts/bundle.ts [--out-dir dist]
 *
 * `make build` runs it after tsc (tsc type-checks and still emits dist/src for the integration
 * helpers and `node dist/src/cli/main.js`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

export const BUNDLE_NAME = 'stapelkit.js';
/** grpc-js and protobufjs for the CLI bundle (loaded on the first gRPC call). */
export const RPC_BUNDLE_NAME = 'stapelkit-rpc.js';
/** proto/ as protobufjs JSON, beside the CLI bundle. */
export const PROTO_JSON_NAME = 'proto.json';
/** The frontend image's bundle (bin/stapelkit-frontend runs it). */
export const FRONTEND_BUNDLE_NAME = 'frontend.js';
/** Code caches bin/stapelkit writes next to the bundle, one per command; a new bundle starts with none. */
export const CODE_CACHE_DIR = '.v8-cache';

/** Only needed for solves (src/buildkit/grpc-js.ts, src/proto.ts load them on first use). */
const CLI_EXTERNAL = ['@grpc/grpc-js', 'protobufjs'];

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

function bundle(entry: string, file: string, external: string[]): number {
  const out = buildSync({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external,
    // Whitespace and comments only: names stay (messages and stacks that show them read the same);
    // --debug runs dist/src, whose stacks name the source files. Comments dropped leave the bundle
    // ASCII (esbuild escapes strings), which the loaders read as a one-byte string: a third less
    // to read and no UTF-8 decoding on every start.
    minifyWhitespace: true,
    legalComments: 'none',
    logLevel: 'warning',
    write: false,
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const code = shareNamespaces(out.outputFiles[0].text);
  // Non-ASCII left in the bundle (a regexp literal) costs every start a UTF-8 decode: name it.
  const stray = /[^\x00-\x7f]/.exec(code);
  if (stray) process.stderr.write(`bundle: non-ASCII ${JSON.stringify(stray[0])} near ${JSON.stringify(code.slice(Math.max(0, stray.index - 40), stray.index + 10))} in ${path.basename(file)}: decoded as UTF-8 on every start\n`);
  // Renamed into place: a reader (a test building the frontend image) never sees half a bundle.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file);
  return fs.statSync(file).size;
}

export function bundleCli(outDir: string): { file: string; bytes: number } {
  const file = path.join(outDir, BUNDLE_NAME);
  const bytes = bundle(path.join(ROOT, 'src', 'cli', 'main.ts'), file, CLI_EXTERNAL);
  bundle(path.join(ROOT, 'src', 'buildkit', 'rpc-bundle.ts'), path.join(outDir, RPC_BUNDLE_NAME), []);
  // Loaded here, not at the top: the other bundles need no protobufjs.
  const { protoJson } = require('../src/proto') as typeof import('../src/proto');
  const json = path.join(outDir, PROTO_JSON_NAME);
  fs.writeFileSync(`${json}.${process.pid}.tmp`, protoJson());
  fs.renameSync(`${json}.${process.pid}.tmp`, json);
  fs.rmSync(path.join(outDir, CODE_CACHE_DIR), { recursive: true, force: true });
  return { file, bytes };
}

/**
 * `<outDir>/frontend.js`. Nothing external but Node's own modules: the image carries no
 * node_modules. (grpc-js is not reached from the frontend: it speaks HTTP/2 itself, grpc-h2.ts.)
 */
export function bundleFrontend(outDir: string): { file: string; bytes: number } {
  const file = path.join(outDir, FRONTEND_BUNDLE_NAME);
  return { file, bytes: bundle(path.join(ROOT, 'src', 'frontend', 'main.ts'), file, []) };
}

if (require.main === module) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = path.resolve(ROOT, i >= 0 ? process.argv[i + 1] : 'dist');
  for (const [what, r] of [['the CLI', bundleCli(outDir)], ['the frontend', bundleFrontend(outDir)]] as const) {
    process.stdout.write(`bundled ${what} into ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
  }
}
