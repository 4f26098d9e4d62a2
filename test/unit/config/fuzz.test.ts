/**
 * Mutation fuzzing of the config front (no I/O: rendered text → model). Valid fixtures are
 * mutated (lines deleted/duplicated/swapped, indentation changed, keys renamed, values retyped,
 * junk injected); every result must be a JSON-clean model or a positioned one-line
 * StapelkitError — never another exception. Seeded: FUZZ_SEED=<n> FUZZ_COUNT=<n> reproduce a run.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultGiterminism, parseRendered } from '../../../src/config';
import { StapelkitError } from '../../../src/errors';
import { FIXTURES, fixtureDirs } from './fixtures';

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const COUNT = Number(process.env.FUZZ_COUNT ?? 4000);
const TIME_BUDGET_MS = Number(process.env.FUZZ_MS ?? 25000);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'image', 'artifact', 'from', 'fromImage', 'fromArtifact', 'fromLatest', 'git', 'add', 'to', 'import', 'shell', 'install',
  'setup', 'mount', 'docker', 'imageSpec', 'config', 'dependencies', 'imports', 'type', 'targetEnv', 'targetBuildArg',
  'dockerfile', 'context', 'args', 'secrets', 'id', 'env', 'src', 'value', 'before', 'after', 'stage', 'includePaths',
  'excludePaths', 'stageDependencies', 'url', 'branch', 'tag', 'commit', 'platform', 'final', 'project', 'configVersion',
  'build', 'ansible', 'contextAddFiles', 'cacheVersion', 'healthcheck', 'labels', '<<', 'bogus',
];
const VALUES = ['~', '[]', '{}', '[a, b]', '{a: 1}', 'yes', 'no', '12', '0777', '1.5', '""', "'/'", '/abs', 'rel/path', '*a', '&a x', '!!binary aGk=', '|', '>-', '- x', '? k', '"\\u0000"', '2001-12-14', '.inf', 'install', 'setup', 'ImageName', 'scratch', '/'];
const JUNK = [':', '-', '[', ']', '{', '}', '"', "'", '#', '&a ', '*a', '<<: *a\n', '\t', '\n---\n', '~', '!', '%', '@', '`', '|', '>', '? ', ',', '\\', '\u00a0', '\r', '{{', '\n  - ', '\ufeff'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function mutate(text: string, r: () => number): string {
  let lines = text.split('\n');
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const line = lines[i] ?? '';
    switch (Math.floor(r() * 8)) {
      case 0: // delete a line
        lines.splice(i, 1);
        break;
      case 1: // duplicate a line (duplicate keys, repeated items)
        lines.splice(i, 0, line);
        break;
      case 2: { // change indentation
        const d = Math.floor(r() * 5) - 2;
        lines[i] = d > 0 ? ' '.repeat(d) + line : line.replace(new RegExp(`^ {0,${-d}}`), '');
        break;
      }
      case 3: { // rename a key
        lines[i] = line.replace(/^(\s*-?\s*)[A-Za-z<][\w<]*(?=:)/, (_, p: string) => p + pick(r, KEYS));
        break;
      }
      case 4: { // retype a value
        lines[i] = /:/.test(line) ? line.replace(/:\s.*$|:$/, ': ' + pick(r, VALUES)) : line.replace(/-\s.*$/, '- ' + pick(r, VALUES));
        break;
      }
      case 5: { // inject junk
        const at = Math.floor(r() * (line.length + 1));
        lines[i] = line.slice(0, at) + pick(r, JUNK) + line.slice(at);
        break;
      }
      case 6: { // swap two lines
        const j = Math.floor(r() * lines.length);
        [lines[i], lines[j]] = [lines[j], lines[i]];
        break;
      }
      default: // insert a new key at some indentation
        lines.splice(i, 0, ' '.repeat(Math.floor(r() * 3) * 2) + pick(r, KEYS) + ': ' + pick(r, VALUES));
    }
    lines = lines.filter((l) => l !== undefined);
  }
  return lines.join('\n');
}

const seeds = fixtureDirs('valid').map((name) => fs.readFileSync(path.join(FIXTURES, 'valid', name, 'werf.yaml'), 'utf8'));

test(`fuzz: ${COUNT} mutations, seed ${SEED}`, () => {
  const r = mulberry32(SEED);
  const started = Date.now();
  let models = 0;
  let errors = 0;
  let i = 0;
  for (; i < COUNT && Date.now() - started < TIME_BUDGET_MS; i++) {
    const text = mutate(pick(r, seeds), r);
    const lineCount = text.split('\n').length;
    try {
      const model = parseRendered(text, (line) => ({ file: 'werf.yaml', line }), {
        commit: { hash: '0'.repeat(40), date: new Date(0) },
        env: '',
        giterminism: { present: false, config: defaultGiterminism() },
        environ: {},
        configFile: 'werf.yaml',
        projectDirName: 'fuzz',
      });
      assert.equal(JSON.parse(JSON.stringify(model)), model);
      models++;
    } catch (e) {
      if (!(e instanceof StapelkitError)) {
        throw new Error(`iteration ${i} (FUZZ_SEED=${SEED}): ${String((e as Error)?.stack ?? e)}\n--- input ---\n${text}`);
      }
      const line = e.pos?.line;
      if (line === undefined || line < 1 || line > lineCount + 1 || e.pos!.file !== 'werf.yaml' || (e.pos!.column ?? 1) < 1) {
        throw new Error(`iteration ${i} (FUZZ_SEED=${SEED}): unpositioned or out-of-range error: ${e.format()}\n--- input ---\n${text}`);
      }
      if (e.format().includes('\n')) throw new Error(`iteration ${i}: multi-line message: ${JSON.stringify(e.format())}\n--- input ---\n${text}`);
      errors++;
    }
  }
  // Mutations must exercise both outcomes, or the fuzzer is not testing anything.
  assert.ok(models > 0 && errors > 0, `models=${models} errors=${errors}`);
  console.log(`  fuzz: ${i} inputs, ${models} models, ${errors} positioned errors`);
});

test.run();
