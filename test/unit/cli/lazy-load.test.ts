/**
 * Start-up cost: a no-op `stapelkit build` (every stage stored: no solve, no session served) and an
 * offline `stapelkit compile` must not load @grpc/grpc-js or protobufjs (and the .proto files), nor
 * Node's TLS modules; grpc-js and protobufjs are loaded on the first gRPC call. Checked in a fresh process (lazy-load-child.ts) by the packages
 * in require.cache.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeRepo } from '../git/repo';

const t = suite('cli/lazy-load');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-lazy-load-')));
t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const GRPC_AND_PROTOBUF = ['@grpc/grpc-js', 'protobufjs'];

t('the build and compile commands, a client, a session and an offline compile load neither grpc-js nor protobufjs; the first gRPC call loads both', () => {
  const repo = makeRepo({
    'werf.yaml': 'project: lazy\nconfigVersion: 1\n---\nimage: app\nfrom: scratch\ngit:\n- add: /src\n  to: /app\nshell:\n  install:\n  - echo hi\n',
    'src/a.txt': 'a\n',
  });
  const report = path.join(tmp, 'report.jsonl');
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'lazy-load-child.ts'), repo, path.join(tmp, 'out'), report], {
    encoding: 'utf8',
    env: { ...process.env, XDG_STATE_HOME: path.join(tmp, 'state'), XDG_CACHE_HOME: path.join(tmp, 'cache') },
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stderr);
  const [noop, solve] = fs.readFileSync(report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; packages: string[]; builtins?: string[] });
  assert.is(noop.phase, 'no-op');
  assert.ok(noop.packages.includes('commander') && noop.packages.includes('yaml'), `the check sees npm packages: ${noop.packages.join(', ')}`);
  assert.equal(noop.packages.filter((p) => GRPC_AND_PROTOBUF.includes(p)), [], 'loaded before any gRPC call');
  // Node's TLS stack (a few ms to load) only for tcp:// daemons and https registries.
  assert.ok(noop.builtins!.includes('child_process'), `the check sees built-ins: ${noop.builtins!.join(', ')}`);
  assert.equal(noop.builtins!.filter((b) => ['tls', 'https', 'http2', '_tls_wrap'].includes(b)), [], 'no TLS module on a no-op build');
  assert.is(solve.phase, 'solve');
  assert.equal(solve.packages.filter((p) => GRPC_AND_PROTOBUF.includes(p)), GRPC_AND_PROTOBUF, 'loaded by the first gRPC call');
  fs.rmSync(repo, { recursive: true, force: true });
});

t.run();
