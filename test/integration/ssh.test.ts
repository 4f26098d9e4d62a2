/**
 * SSH agent forwarding: a host ssh-agent holding a fresh key, a statically linked agent-protocol
 * probe (test/fixtures/ssh-agent-probe) copied in through the local context, and an ssh mount.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, type TestEnv } from './harness';
import { Session } from '../../src/session';
import { image, local, marshal, scratch } from '../../src/llb';
import { startSshAgent } from './session-helpers';

const PROBE_SRC = path.resolve(__dirname, '../fixtures/ssh-agent-probe/probe.c');

interface Ctx { env: TestEnv; agent?: ChildProcess; sock: string; probeDir: string; keyComment: string }
const t = suite<Ctx>('ssh');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-ssh-'));
  ctx.probeDir = path.join(dir, 'probe');
  fs.mkdirSync(ctx.probeDir);
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(ctx.probeDir, 'ssh-agent-probe'), PROBE_SRC], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc -static failed: ${cc.stderr}`);
  ({ sock: ctx.sock, agent: ctx.agent, keyComment: ctx.keyComment } = await startSshAgent(dir, `stapelkit-key-${process.pid}`));
});

t.after(async (ctx) => {
  ctx.agent?.kill();
  await ctx.env?.stop();
});

t('RUN with an ssh mount lists the forwarded agent key', async (ctx) => {
  const client = await ctx.env.client();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-sshout-'));
  const session = new Session({
    ssh: [{ id: 'default', socket: ctx.sock }],
    syncedDirs: { probe: { dir: ctx.probeDir } },
    exportTarget: { kind: 'local', dir: outDir },
  });
  const probe = local('probe', { sessionId: session.id });
  const run = image(ctx.env.images.amd64).run({
    shell: 'set -e; /probe/ssh-agent-probe > /out/keys; echo "$SSH_AUTH_SOCK" > /out/sock',
    ignoreCache: true, // the agent's keys are not in the cache key: a daemon that ran this before would answer from cache
    mounts: [{ target: '/probe', from: probe, readonly: true }, { target: '/out', from: scratch() }, { type: 'ssh' }],
  });
  await client.solve({ definition: marshal(run.getMount('/out')), session, exporter: { type: 'local' } });
  await session.close();
  const keys = fs.readFileSync(path.join(outDir, 'keys'), 'utf8');
  assert.match(keys, /^keys: 1$/m);
  assert.match(keys, new RegExp(`^comment: ${ctx.keyComment}$`, 'm'));
  assert.match(fs.readFileSync(path.join(outDir, 'sock'), 'utf8'), /^\/run\/buildkit\/ssh_agent\.0$/m);
});

t('a named agent id the session lacks fails the build', async (ctx) => {
  const client = await ctx.env.client();
  const session = new Session({ ssh: [{ id: 'default', socket: ctx.sock }] });
  const run = image(ctx.env.images.amd64).run({ shell: 'true', mounts: [{ type: 'ssh', id: 'other' }] });
  try {
    await client.solve({ definition: marshal(run.root()), session });
    assert.unreachable('solve should fail');
  } catch (e) {
    assert.match(String((e as Error).message), /ssh|other/i);
  } finally {
    await session.close();
  }
});

t.run();
