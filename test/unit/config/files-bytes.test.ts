/**
 * `.Files` through the whole config path (real git repository, real template engine): contents are
 * bytes, so binary files hash and encode exactly; a Glob reads all its matches with one
 * `git cat-file --batch` (counted through a logging `git` wrapper on PATH); no match is werf's error;
 * binary bytes printed into YAML are refused at their line.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadProject } from '../../../src/project';
import { StapelkitError } from '../../../src/errors';
import { git, makeRepo, removeRepo } from '../git/repo';

const t = suite('config/files-bytes');
const META = 'project: demo\nconfigVersion: 1\n---\n';
const repos: string[] = [];
t.after.each(() => {
  while (repos.length) removeRepo(repos.pop()!);
});

/** Runs `fn` with a `git` on PATH that logs each subcommand; returns the logged subcommands. */
function countGit(fn: () => void): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-gitlog-'));
  const log = path.join(dir, 'log');
  const real = process.env.PATH!.split(':').map((d) => path.join(d, 'git')).find((p) => fs.existsSync(p))!;
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    fn();
  } finally {
    process.env.PATH = saved;
  }
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return lines;
}

function load(dir: string) {
  return loadProject({ dir, environ: {}, env: '' });
}

function errorOf(fn: () => unknown): StapelkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected a StapelkitError');
}

// Two "archives" that differ only in a byte that is not valid UTF-8 (0x80 vs 0x81).
const A = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28]);
const B = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x81, 0xc3, 0x28]);
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function binRepo(werf: string): string {
  const d = makeRepo({ 'werf.yaml': werf });
  fs.writeFileSync(path.join(d, 'a.tgz'), A);
  fs.writeFileSync(path.join(d, 'b.tgz'), B);
  git(d, 'add', '-A');
  git(d, 'commit', '-q', '-m', 'bin');
  repos.push(d);
  return d;
}

t('binary files reach the template as bytes: sha256sum, b64enc, len are exact and differ per file', () => {
  const d = binRepo(
    META +
      'image: app\nfrom: alpine\n' +
      'fromCacheVersion: {{ .Files.Get "a.tgz" | sha256sum }}\n' +
      '# b={{ .Files.Get "b.tgz" | sha256sum }} len={{ len (.Files.Get "a.tgz") }} b64={{ .Files.Get "a.tgz" | b64enc }}\n' +
      '# glob={{ range $p, $c := .Files.Glob "*.tgz" }}{{ $p }}:{{ $c | sha256sum }},{{ end }}\n',
  );
  const r = load(d);
  const text = r.rendered.text;
  assert.ok(sha(A) !== sha(B));
  assert.ok(text.includes(`fromCacheVersion: ${sha(A)}\n`), text);
  assert.ok(text.includes(`# b=${sha(B)} len=${A.length} b64=${A.toString('base64')}\n`), text);
  assert.ok(text.includes(`# glob=a.tgz:${sha(A)},b.tgz:${sha(B)},\n`), text);
});

t('binary bytes printed into the YAML are refused at their line, with a hint', () => {
  const d = binRepo(META + 'image: app\nfrom: alpine\n# raw: {{ .Files.Get "a.tgz" }}\n');
  const e = errorOf(() => load(d));
  assert.is(e.code, 'CONFIG_INVALID_UTF8');
  assert.ok(e.message.includes('byte 0x8B at rendered line 6'), e.message);
  assert.equal(e.pos, { file: 'werf.yaml', line: 6 });
  assert.ok(e.hint?.includes('b64enc'));
});

t('an invalid byte in werf.yaml itself is refused at its line', () => {
  const d = makeRepo({});
  repos.push(d);
  fs.writeFileSync(path.join(d, 'werf.yaml'), Buffer.concat([Buffer.from(META + 'image: app\nfrom: alpine\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
  git(d, 'add', '-A');
  git(d, 'commit', '-q', '-m', 'latin1');
  const e = errorOf(() => load(d));
  assert.is(e.pos?.file, 'werf.yaml');
  assert.is(e.pos?.line, 6);
});

t('.Files.Glob without a match fails as werf does', () => {
  const d = makeRepo({ 'werf.yaml': META + 'image: app\nfrom: alpine\n# {{ .Files.Glob "nothing/*" }}\n' });
  repos.push(d);
  const e = errorOf(() => load(d));
  assert.ok(e.message.includes('error calling Glob: {{ .Files.Glob "nothing/*" }}: no matches found'), e.message);
  assert.is(e.pos?.line, 6);
});

t('.Files.Glob of 5000 files reads them with one git process', () => {
  const files: Record<string, string> = {
    'werf.yaml': META + 'image: app\nfrom: alpine\n# n={{ len (.Files.Glob "data/**/*.txt") }} h={{ range $p, $c := .Files.Glob "data/**/*.txt" }}{{ $c }}{{ end }}\n',
  };
  for (let i = 0; i < 5000; i++) files[`data/d${i % 50}/f${i}.txt`] = `${i % 10}`;
  const d = makeRepo(files);
  repos.push(d);
  let text = '';
  const calls = countGit(() => {
    text = load(d).rendered.text;
  });
  assert.ok(text.includes('# n=5000 h='), text.slice(0, 200));
  const h = /h=(\d+)/.exec(text)![1];
  assert.is(h.length, 5000);
  // two Globs of 5000 files each: one cat-file batch per Glob, not one process per file
  assert.is(calls.filter((c) => c === 'cat-file').length, 3, calls.join(' ')); // werf.yaml + 2 globs
  assert.ok(calls.length <= 10, `git ran ${calls.length} times: ${calls.join(' ')}`);
});

t.run();
