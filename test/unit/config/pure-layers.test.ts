/**
 * The pure layers (config → stage plan → LLB, and the Dockerfile compiler) import no I/O: the loader
 * that opens git and disk is src/project, the daemon and network sit in buildkit/session/daemon/
 * storage/registry. A scan of the run-time imports, followed through the project's own modules, keeps it so.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const t = suite('config/pure-layers');
const SRC = path.resolve(__dirname, '../../../src');
const PURE = ['config', 'stages', 'llb', 'dockerfile'];
const IO_MODULES = new Set(['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process', 'http', 'node:http', 'http2', 'node:http2', 'https', 'node:https', 'dgram', 'node:dgram', '@grpc/grpc-js']);
/** Modules that read only the program's own static data, never the project, daemon or network. */
const DATA_READERS = new Map([
  ['template/gotime.ts', "the system time-zone database, as Go's time package reads it"],
  ['proto.ts', 'the .proto schema files shipped with Stapelkit'],
]);

function* tsFiles(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** Module specifiers loaded at run time: imports and re-exports (not `import type`), require() and import() calls. */
export function runtimeImportsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s)?[^;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[3] !== undefined) {
      if (!m[2]) out.push(m[3]);
    } else out.push(m[4] ?? m[5]);
  }
  return out;
}

function resolveTs(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
}

/** The first I/O module `file` loads, directly or through the project's own modules: the chain of files, or undefined. */
function ioChain(file: string, seen = new Map<string, string[] | null>()): string[] | undefined {
  if (DATA_READERS.has(path.relative(SRC, file))) return undefined;
  if (seen.has(file)) return seen.get(file) ?? undefined;
  seen.set(file, null); // a cycle adds nothing new
  for (const spec of runtimeImportsOf(fs.readFileSync(file, 'utf8'))) {
    let chain: string[] | undefined;
    if (IO_MODULES.has(spec)) chain = [spec];
    else if (spec.startsWith('.')) {
      const target = resolveTs(file, spec);
      const sub = target && ioChain(target, seen);
      if (sub) chain = [path.relative(SRC, target!), ...sub];
    }
    if (chain) {
      seen.set(file, chain);
      return chain;
    }
  }
  return undefined;
}

t('the scanner sees import forms', () => {
  const specs = runtimeImportsOf("import * as fs from 'node:fs';\nimport type { X } from '../build/x';\nimport { type Y, z } from './z';\nexport { y } from './y';\nimport 'side';\nconst c = require('child_process');\nconst d = await import('../daemon');\n");
  assert.equal(specs, ['node:fs', './z', './y', 'side', 'child_process', '../daemon']);
  assert.ok(ioChain(path.join(SRC, 'project/load.ts')), 'the loader is I/O');
  assert.ok(ioChain(path.join(SRC, 'build/run.ts')), 'the build shell is I/O');
});

for (const layer of PURE) {
  t(`src/${layer} loads no I/O module`, () => {
    const bad: string[] = [];
    for (const f of tsFiles(path.join(SRC, layer))) {
      const chain = ioChain(f);
      if (chain) bad.push(`${path.relative(SRC, f)} → ${chain.join(' → ')}`);
    }
    assert.equal(bad, []);
  });
}

t.run();
