/** The example's pure parts: .dockerignore parsing, the LLB graph and image config, daemon status lines. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CACHE_ID, CACHE_TARGET, exampleGraph, parseDockerignore } from '../../../src/example';
import { decodeDefinition, marshal } from '../../../src/llb';
import { formatStatus } from '../../../src/cli/commands/daemon';

const t = suite('example');

t('.dockerignore: comments, blanks, spaces, cleaning, leading slash, exceptions, BOM', () => {
  const text = '\uFEFF# comment\n\n  secret.tmp  \n/build/../dist/\n!dist/keep.txt\n! spaced\n  # not a comment after spaces\r\n**/*.log\n/\n';
  assert.equal(parseDockerignore(text), ['secret.tmp', 'dist', '!dist/keep.txt', '!spaced', '# not a comment after spaces', '**/*.log', '/']);
});

t('.dockerignore: a bad pattern names file and line', () => {
  try {
    parseDockerignore('ok\n[z-a\n', 'proj/.dockerignore');
    assert.unreachable('should throw');
  } catch (e) {
    const err = e as { code: string; format(): string };
    assert.is(err.code, 'DOCKERIGNORE');
    assert.match(err.format(), /^proj\/\.dockerignore:2: .*\[z-a/);
  }
});

t('graph: busybox → COPY of the session context → RUN with the cache mount; image config', () => {
  const g = exampleGraph({
    baseImage: 'stapelkit/busybox:amd64',
    baseConfig: { Env: ['PATH=/bin', 'STAPELKIT_EXAMPLE=old'], layers: 1 },
    arch: 'amd64',
    sessionId: 'sess123',
    excludes: ['secret.tmp'],
    sharedKeyHint: 'example:/p',
    created: '2026-01-02T03:04:05Z',
  });
  const def = decodeDefinition(marshal(g.state, { platform: 'linux/amd64' }).toBytes());
  const ops = def.ops.map((o: any) => o.op);
  const src = ops.filter((o: any) => o.source).map((o: any) => o.source);
  assert.equal(src.map((s: any) => s.identifier).sort(), ['docker-image://docker.io/stapelkit/busybox:amd64', 'local://context']);
  const localAttrs = src.find((s: any) => s.identifier === 'local://context').attrs;
  assert.is(localAttrs['local.session'], 'sess123');
  assert.is(localAttrs['local.excludepatterns'], '["secret.tmp"]');
  assert.is(localAttrs['local.sharedkeyhint'], 'example:/p');
  const file = ops.find((o: any) => o.file).file;
  assert.is(file.actions[0].copy.dest, '/app/');
  const exec = ops.find((o: any) => o.exec).exec;
  assert.is(exec.meta.cwd, '/app');
  assert.equal(exec.meta.args.slice(0, 2), ['/bin/sh', '-c']);
  assert.ok(exec.meta.env.includes('PATH=/bin'), 'base env reaches the RUN');
  const cache = exec.mounts.find((m: any) => m.dest === CACHE_TARGET);
  assert.is(cache.cacheOpt.ID, CACHE_ID);

  assert.equal(g.imageConfig.config.Cmd, ['/app/hello.sh']);
  assert.is(g.imageConfig.config.WorkingDir, '/app');
  assert.equal(g.imageConfig.config.Env, ['PATH=/bin', 'STAPELKIT_EXAMPLE=hello']);
  assert.is(g.imageConfig.architecture, 'amd64');
  assert.equal(g.imageConfig.history?.map((h) => h.created_by), ['stapelkit/busybox:amd64 layer 1', 'COPY . /app', 'RUN write /app/stamp.txt']);
  // Unknown base layer count: no history, PATH supplied.
  const bare = exampleGraph({ baseImage: 'b', arch: 'arm64', sessionId: 's', excludes: [], created: '2026-01-02T03:04:05Z' });
  assert.is(bare.imageConfig.history, undefined);
  assert.ok(bare.imageConfig.config.Env[0].startsWith('PATH='));
});

t('daemon status lines', () => {
  const base = { stateDir: '/s/stapelkit/dockerd', socketPath: '/s/stapelkit/dockerd/docker.sock', addr: 'docker://unix:///s/stapelkit/dockerd/docker.sock', logFile: '/s/l' };
  assert.equal(formatStatus({ ...base, alive: false, answering: false }), [
    'embedded dockerd: not running',
    'socket: unix:///s/stapelkit/dockerd/docker.sock',
    'address: docker://unix:///s/stapelkit/dockerd/docker.sock',
    'state dir: /s/stapelkit/dockerd',
  ]);
  assert.is(formatStatus({ ...base, pid: 42, alive: true, answering: true, bridge: 'skbr1' })[0], 'embedded dockerd: running (pid 42)');
  assert.is(formatStatus({ ...base, pid: 42, alive: true, answering: true, bridge: 'skbr1' }).at(-1), 'bridge: skbr1');
  assert.match(formatStatus({ ...base, pid: 42, alive: false, answering: false })[0], /stale pidfile/);
});

t.run();
