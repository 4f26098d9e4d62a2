/**
 * Bundles the CLI (src/cli/main.ts and everything it requires, npm packages included) into one
 * CommonJS file, `<out>/stapelkit.js`, for bin/stapelkit. One file instead of ~350 is what makes a
 * short command start fast: no module resolution (package.json lookups, stats) per file, and one
 * V8 code cache for the whole CLI (see bin/stapelkit). Lazy `require()`s stay lazy in the bundle
 * (esbuild runs a required module's top level on its first require), so a no-op build still never
 * runs grpc-js or protobufjs.
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

export function bundleCli(outDir: string): { file: string; bytes: number } {
  const file = path.join(outDir, BUNDLE_NAME);
  buildSync({
    entryPoints: [path.join(ROOT, 'src', 'cli', 'main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Names and line structure kept: --debug stack traces stay readable.
    minify: false,
    keepNames: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
  fs.rmSync(path.join(outDir, CODE_CACHE_DIR), { recursive: true, force: true });
  return { file, bytes: fs.statSync(file).size };
}

if (require.main === module) {
  const i = process.argv.indexOf('--out-dir');
  const outDir = path.resolve(ROOT, i >= 0 ? process.argv[i + 1] : 'dist');
  const r = bundleCli(outDir);
  process.stdout.write(`bundled the CLI into ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1e6).toFixed(1)} MB)\n`);
}
