/**
 * Addresses, transports and what the daemon tells about itself: clear errors for bad input, the
 * moby worker's platforms, LLB caps (and refusing a cap the daemon lacks), exporters, disk usage,
 * and the Control.Session tunnel kept alive by the daemon's health checks.
 */
import * as crypto from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SessionLike } from '../../src/buildkit/client';
import { connect } from '../../src/daemon/connect';
import { isStapelkitError } from '../../src/errors';
import { serviceDefinition } from '../../src/proto';
import { copy, image, marshal } from '../../src/llb';
import { formatDaemonVersion } from '../../src/buildkit/version';
import { ENV, opDigests, testEnv, type TestEnv } from './harness';
import { runCli } from './cli-run';

/** The test daemon's TLS files as CLI flags. */
function tlsArgs(): string[] {
  const e = process.env;
  const pairs: [string, string | undefined][] = [['--tlscacert', e[ENV.tlsCa]], ['--tlscert', e[ENV.tlsCert]], ['--tlskey', e[ENV.tlsKey]], ['--tlsservername', e[ENV.tlsServerName]]];
  return pairs.flatMap(([flag, v]) => (v ? [flag, v] : []));
}

const t = suite<{ env: TestEnv }>('transport');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string; text: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStapelkitError(e), `a StapelkitError, got: ${String(e)}`);
    return { code: e.code, message: e.message, text: e.format() };
  }
  throw new assert.Assertion({ message: 'expected an error', operator: 'throws', expects: 'error', actual: 'none' });
}

t('unknown scheme, unreachable sockets and missing TLS files give one clear error each', async () => {
  let e = await errorOf(connect('ftp://example/x', { embedded: false }));
  assert.is(e.code, 'BAD_ADDRESS');
  assert.match(e.message, /unknown daemon address scheme "ftp"/);

  e = await errorOf(connect('unix:///nonexistent/stapelkit/buildkitd.sock', { embedded: false }));
  assert.is(e.code, 'DAEMON_UNREACHABLE');
  assert.match(e.message, /BuildKit daemon at unix:\/\/\/nonexistent\/stapelkit\/buildkitd\.sock: .* does not exist/);

  e = await errorOf(connect('docker://unix:///nonexistent/docker.sock', { embedded: false }));
  assert.is(e.code, 'DAEMON_UNREACHABLE');
  assert.match(e.message, /Docker daemon/);

  e = await errorOf(connect('tcp://127.0.0.1:1', { embedded: false }));
  assert.is(e.code, 'DAEMON_UNREACHABLE');
  assert.match(e.message, /ECONNREFUSED/);

  e = await errorOf(connect('tcp://127.0.0.1:1234', { embedded: false, tls: { ca: '/nonexistent/ca.pem', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' } }));
  assert.is(e.code, 'TLS_FILES');
  assert.match(e.message, /CA certificate \/nonexistent\/ca\.pem, client certificate \/nonexistent\/cert\.pem, client key \/nonexistent\/key\.pem/);
  assert.not.match(e.text, /\n/, 'one line');
});

t('ListWorkers: a worker with linux/amd64 (and linux/arm64 with binfmt); dockerd has exactly the moby worker', async ({ env }) => {
  const client = await env.client();
  const workers = await client.listWorkers();
  assert.ok(workers.length >= 1);
  assert.ok(workers[0].id.length > 0, 'a worker id');
  if (client.daemonKind === 'dockerd') {
    assert.is(workers.length, 1);
    assert.is(workers[0].id, 'moby');
  }
  assert.ok(workers[0].platforms.includes('linux/amd64'), workers[0].platforms.join(', '));
  if (env.images.arm64) assert.ok(workers[0].platforms.includes('linux/arm64'), workers[0].platforms.join(', '));
});

t('daemonVersion: Control.Info where the daemon has it (v0.11+), else the workers, else none; daemon status shows it', async ({ env }) => {
  const client = await env.client();
  const v = await client.daemonVersion();
  if (v.source === 'none') {
    // BuildKit older than v0.11 (dockerd 20.10's v0.8) has neither Control.Info nor a worker version.
    assert.is(v.buildkit, undefined);
    if (client.daemonKind === 'dockerd') assert.match(v.dockerd ?? '', /^\d+\.\d+/, 'the engine version stands in');
  } else {
    assert.match(v.buildkit!.version, /^v\d+\.\d+/);
  }
  const cli = await runCli(['daemon', 'status', '--addr', env.addr, ...tlsArgs()]);
  assert.is(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^address: ${env.addr.replace(/[/.]/g, '\\$&')}$`, 'm'));
  assert.match(cli.stdout, new RegExp(`^buildkit: ${formatDaemonVersion(v).replace(/[()+.]/g, '\\$&')}$`, 'm'));
  assert.match(cli.stdout, /^worker: \S+ \(linux\/amd64/m);
  assert.not.match(cli.stderr, /^debug:/m);
  // --debug names the daemon that answered and its version, for any command that connects.
  const dbg = await runCli(['--debug', 'daemon', 'status', '--addr', env.addr, ...tlsArgs()]);
  assert.is(dbg.code, 0, dbg.stderr);
  assert.match(dbg.stderr, new RegExp(`^debug: daemon ${client.address.text.replace(/[/.[\]]/g, '\\$&')} \\(from flag\\): ${formatDaemonVersion(v).replace(/[()+.]/g, '\\$&')}$`, 'm'));
});

t('LLB caps through the client-side gateway trick; a missing cap is refused clearly', async ({ env }) => {
  const client = await env.client();
  const caps = await client.llbCaps();
  for (const c of ['source.image', 'exec.mount.cache', 'exec.mount.tmpfs', 'file.base', 'constraints', 'platform']) assert.ok(caps.llb.has(c), `has ${c}`);
  // dockerd 20.10 embeds BuildKit v0.8, which lacks these; a newer daemon may have them all.
  const newer = ['file.copy.includeexcludepatterns', 'mergeop', 'exec.mount.tmpfs.size'];
  const v08 = client.daemonKind === 'dockerd' && !(await client.daemonVersion()).buildkit;
  if (v08) for (const c of newer) assert.not.ok(caps.llb.has(c), `v0.8 lacks ${c}`);
  assert.ok(caps.frontend.has('gateway.solve.evaluate'));
  assert.is(await client.llbCaps(), caps, 'cached per client');
  if (caps.llb.has('file.copy.includeexcludepatterns')) {
    console.log('transport: the daemon has file.copy.includeexcludepatterns (BuildKit v0.9+); the refusal of a missing cap is covered by llb-caps');
    return;
  }

  // COPY with include patterns: BuildKit v0.9+.
  const base = image(env.images.amd64);
  const def = marshal(base.file(copy(base, '/etc', '/copied', { includePatterns: ['pass*'] })), { platform: 'linux/amd64' });
  assert.ok(def.caps().includes('file.copy.includeexcludepatterns'));
  let e = await errorOf(client.solve({ definition: def }));
  assert.is(e.code, 'CAP_MISSING');
  assert.match(e.message, /lacks LLB capability file\.copy\.includeexcludepatterns$/);

  // Without the client-side check the daemon refuses it too; the error is the same kind.
  e = await errorOf(client.solve({ definition: def, checkCaps: false }));
  assert.is(e.code, 'CAP_MISSING');
  assert.match(e.message, /file\.copy\.includeexcludepatterns/);
});

t('exporters the daemon lacks are refused before solving', async ({ env }) => {
  const client = await env.client();
  const def = marshal(image(env.images.amd64), { platform: 'linux/amd64' });
  if (client.daemonKind !== 'dockerd') {
    assert.equal(client.exporters(), ['image', 'local', 'tar', 'oci', 'docker']);
    const m = await errorOf(client.solve({ definition: def, exporter: { type: 'moby', attrs: { name: 'x' } } }));
    assert.is(m.code, 'EXPORTER_MISSING');
    assert.match(m.text, /no "moby" exporter \(available: image, local, tar, oci, docker\)/);
    const s = await errorOf(client.solve({ definition: def, exporter: { type: 'oci' } }));
    assert.is(s.code, 'EXPORTER_NEEDS_SESSION');
    return;
  }
  assert.equal(client.exporters(), ['moby', 'local', 'tar']);
  let e = await errorOf(client.solve({ definition: def, exporter: { type: 'oci' } }));
  assert.is(e.code, 'EXPORTER_MISSING');
  assert.match(e.text, /no "oci" exporter \(available: moby, local, tar\)/);
  e = await errorOf(client.solve({ definition: def, exporter: { type: 'image', attrs: { name: 'x' } } }));
  assert.match(e.text, /use the "moby" exporter/);
  e = await errorOf(client.solve({ definition: def, exporter: { type: 'tar' } }));
  assert.is(e.code, 'EXPORTER_NEEDS_SESSION');
  e = await errorOf(client.solve({ definition: def, cacheExports: [{ type: 'registry', attrs: { ref: 'x/y:cache' } }] }));
  assert.is(e.code, 'CACHE_UNSUPPORTED');
  assert.match(e.text, /cannot export cache of type "registry" \(only "inline"/);
});

t('DiskUsage and Prune answer', async ({ env }) => {
  const client = await env.client();
  const du = await client.diskUsage();
  assert.ok(Array.isArray(du));
  assert.ok(du.every((r) => typeof r.id === 'string' && r.id.length > 0));
  // Keep everything younger than a day: removes nothing the other tests use.
  const pruned = await client.prune({ keepDurationMs: 24 * 3600 * 1000 });
  assert.ok(Array.isArray(pruned));
});

/** The daemon's session health-check period, measured by the tunnel test. */
let healthPeriodMs = 1000;

/** A session serving only grpc.health.v1.Health, counting the daemon's checks. */
function healthOnlySession(): SessionLike & { checks: number } {
  const id = crypto.randomBytes(12).toString('hex');
  const s = {
    id,
    checks: 0,
    metadata: () => ({
      'X-Docker-Expose-Session-Uuid': [id],
      'X-Docker-Expose-Session-Name': ['stapelkit-test'],
      'X-Docker-Expose-Session-Sharedkey': ['stapelkit-test'],
      'X-Docker-Expose-Session-Grpc-Method': ['/grpc.health.v1.Health/Check'],
    }),
    serve: (conn: Duplex) =>
      new Promise<void>((resolve) => {
        const server = new grpc.Server();
        server.addService(serviceDefinition('grpc.health.v1.Health'), {
          Check: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
            s.checks++;
            cb(null, { status: 1 });
          },
        });
        const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
        injector.injectConnection(conn);
        conn.on('close', () => {
          injector.destroy();
          resolve();
        });
      }),
  };
  return s;
}

t('Control.Session tunnel: the daemon health-checks the session through it', async ({ env }) => {
  const client = await env.client();
  const session = healthOnlySession();
  const attached = await client.attachSession(session);
  let ended = false;
  attached.done.then(() => (ended = true));
  // The check period is the daemon's (about 1 s in v0.8, 5 s in later releases): wait for two.
  const t0 = Date.now();
  let firstAt = 0;
  while (session.checks < 2 && Date.now() - t0 < 20_000) {
    await new Promise((r) => setTimeout(r, 100));
    if (!firstAt && session.checks >= 1) firstAt = Date.now();
  }
  assert.ok(session.checks >= 2, `health checks seen in 20 s: ${session.checks}`);
  healthPeriodMs = Math.max(1000, Date.now() - firstAt);
  assert.not.ok(ended, 'the session is still open');
  // A solve naming the session runs while it is attached.
  const def = marshal(image(env.images.amd64).run({ shell: `echo ${session.id}` }).root(), { platform: 'linux/amd64' });
  const res = await client.solve({ definition: def, session: session.id });
  assert.ok(res.progress.logText(opDigests(def, 'exec')[0]).includes(session.id));
  await attached.close();
  assert.ok(ended, 'close() ends the tunnel');
});

t('solve({session}) attaches a session for the build and closes it afterwards', async ({ env }) => {
  const client = await env.client();
  const session = healthOnlySession();
  // Long enough for the daemon's first health check (the period measured above).
  const sleepS = ((healthPeriodMs * 1.5) / 1000).toFixed(1);
  const def = marshal(image(env.images.amd64).run({ shell: `sleep ${sleepS}; echo slept`, ignoreCache: true }).root(), { platform: 'linux/amd64' });
  await client.solve({ definition: def, session });
  assert.ok(session.checks >= 1, `health checks during the build: ${session.checks}`);
  const after = session.checks;
  await new Promise((r) => setTimeout(r, healthPeriodMs * 1.5));
  assert.is(session.checks, after, 'no checks after the build: the tunnel is closed');
});

t.run();
