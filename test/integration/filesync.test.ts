/**
 * Local context → daemon through our FileSync (fsutil sender), run steps with env/cwd/user, and
 * results back through FileSend (local and tar exporters).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, type TestEnv } from './harness';
import { Session } from '../../src/session';
import { image, local, scratch, copy, marshal } from '../../src/llb';
import { readTarEntries, waitFor } from './session-helpers';

const t = suite<{ env: TestEnv }>('filesync');

function makeContext(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-ctx-'));
  fs.mkdirSync(path.join(d, 'app/sub'), { recursive: true });
  fs.mkdirSync(path.join(d, 'node_modules/dep'), { recursive: true });
  fs.writeFileSync(path.join(d, 'app/sub/data.txt'), 'nested data\n');
  fs.writeFileSync(path.join(d, 'app/run.sh'), '#!/bin/sh\necho "ran with $1"\n');
  fs.chmodSync(path.join(d, 'app/run.sh'), 0o755);
  fs.writeFileSync(path.join(d, 'app/plain.txt'), 'not executable\n');
  fs.chmodSync(path.join(d, 'app/plain.txt'), 0o640);
  fs.symlinkSync('sub/data.txt', path.join(d, 'app/link'));
  fs.writeFileSync(path.join(d, 'node_modules/dep/index.js'), 'excluded\n');
  fs.writeFileSync(path.join(d, 'app/secret.env'), 'excluded too\n');
  return d;
}

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

t('context files arrive through FileSync; exec env/cwd/user; local export via FileSend', async ({ env }) => {
  const client = await env.client();
  const ctxDir = makeContext();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-out-'));
  const session = new Session({ syncedDirs: { context: { dir: ctxDir } }, exportTarget: { kind: 'local', dir: outDir }, ssh: [] });
  const src = local('context', { sessionId: session.id, excludePatterns: ['node_modules', '**/*.env'], sharedKeyHint: 'filesync-test' });
  // FileOp copy of the whole context into a fresh layer, mounted at /ctx
  const ctxCopy = scratch().file(copy(src, '/', '/'));
  // First step as an unprivileged user in its own working dir; the second (root) collects results.
  const asUser = image(env.images.amd64).run({ shell: 'id -u > /tmp/uid && id -un >> /tmp/uid && pwd > /tmp/user-cwd', user: 'www-data', cwd: '/var/www' });
  const run = asUser.root().run({
    shell: [
      'set -e',
      'mkdir -p /out/ctx',
      'cp -a /ctx/. /out/ctx/',
      'cp /tmp/uid /tmp/user-cwd /out/',
      'pwd > /out/cwd',
      'id -u > /out/root-uid',
      'echo "$GREETING" > /out/env',
      '/ctx/app/run.sh arg > /out/ran',
      'cat /ctx/app/link > /out/via-link',
      'ls -a /ctx /ctx/app > /out/listing',
    ].join('\n'),
    env: { GREETING: 'hello from env' },
    cwd: '/tmp',
    user: 'root',
    mounts: [{ target: '/ctx', from: ctxCopy, readonly: true }, { target: '/out', from: scratch() }],
  });
  const def = marshal(run.getMount('/out'));
  await client.solve({ definition: def, session, exporter: { type: 'local' } });
  await waitFor(() => session.stats.syncs.length > 0 && session.lastExport !== undefined);
  await session.close();

  const rd = (p: string) => fs.readFileSync(path.join(outDir, p), 'utf8');
  assert.is(rd('cwd'), '/tmp\n');
  assert.is(rd('uid'), '33\nwww-data\n');
  assert.is(rd('user-cwd'), '/var/www\n');
  assert.is(rd('root-uid'), '0\n');
  assert.is(rd('env'), 'hello from env\n');
  assert.is(rd('ran'), 'ran with arg\n');
  assert.is(rd('via-link'), 'nested data\n');
  assert.is(rd('ctx/app/sub/data.txt'), 'nested data\n');
  assert.is(fs.readlinkSync(path.join(outDir, 'ctx/app/link')), 'sub/data.txt');
  assert.is(fs.statSync(path.join(outDir, 'ctx/app/run.sh')).mode & 0o777, 0o755);
  assert.is(fs.statSync(path.join(outDir, 'ctx/app/plain.txt')).mode & 0o777, 0o640);
  assert.not.ok(fs.existsSync(path.join(outDir, 'ctx/node_modules')), 'excluded dir must not arrive');
  assert.not.ok(fs.existsSync(path.join(outDir, 'ctx/app/secret.env')), 'excluded file must not arrive');
  assert.not.match(rd('listing'), /node_modules|secret\.env/);
  assert.ok(session.stats.syncs.length >= 1, 'FileSync was used');
  assert.equal(session.stats.syncs.filter((s) => s.error), [], 'FileSync calls succeeded');
  assert.ok(session.lastExport && session.lastExport.files >= 5);
});

t('tar export through FileSend carries files, modes and symlinks', async ({ env }) => {
  const client = await env.client();
  const ctxDir = makeContext();
  const tarFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-tar-')), 'out.tar');
  const session = new Session({ syncedDirs: { context: { dir: ctxDir } }, exportTarget: { kind: 'tar', file: tarFile }, ssh: [] });
  const src = local('context', { sessionId: session.id, includePatterns: ['app'], excludePatterns: ['**/*.env'] });
  const def = marshal(scratch().file(copy(src, '/app', '/app')));
  await client.solve({ definition: def, session, exporter: { type: 'tar' } });
  await session.close();
  const entries = readTarEntries(fs.readFileSync(tarFile));
  const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
  assert.ok(byName.has('app/sub/data.txt'), [...byName.keys()].join(','));
  assert.is(byName.get('app/run.sh')!.mode & 0o777, 0o755);
  assert.is(byName.get('app/link')!.type, 'symlink');
  assert.is(byName.get('app/link')!.linkname, 'sub/data.txt');
  assert.is(byName.get('app/sub/data.txt')!.data.toString(), 'nested data\n');
  assert.not.ok(byName.has('app/secret.env'));
  assert.not.ok(byName.has('node_modules'));
});

t('the same session served over the Control.Session tunnel instead of dockerd\'s /session upgrade', async ({ env }) => {
  const client = await env.client();
  const ctxDir = makeContext();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-out-'));
  const session = new Session({ syncedDirs: { context: { dir: ctxDir } }, exportTarget: { kind: 'local', dir: outDir }, ssh: [] });
  const attached = await client.attachSession(session, { tunnel: 'control' });
  const src = local('context', { sessionId: session.id, excludePatterns: ['node_modules', '**/*.env'] });
  const def = marshal(scratch().file(copy(src, '/app', '/app')));
  await client.solve({ definition: def, session: session.id, exporter: { type: 'local' } });
  await waitFor(() => session.lastExport !== undefined);
  await attached.close();
  await session.close();
  assert.is(fs.readFileSync(path.join(outDir, 'app/sub/data.txt'), 'utf8'), 'nested data\n');
  assert.is(fs.statSync(path.join(outDir, 'app/run.sh')).mode & 0o777, 0o755);
  assert.is(fs.readlinkSync(path.join(outDir, 'app/link')), 'sub/data.txt');
  assert.not.ok(fs.existsSync(path.join(outDir, 'app/secret.env')));
  assert.equal(session.stats.syncs.map((s) => [s.dirName, s.error]), [['context', undefined]]);
});

t.run();
