/**
 * ExecOp semantics on the real daemon: BuildKit's client tests testRelativeWorkDir, testUser,
 * testExtraHosts, testMountWithNoSource, testReadonlyRootFS, testRelativeMountpoint, testProxyEnv,
 * testNetworkMode re-expressed with our State API, plus mount output indexes, bind selectors,
 * env replace rules and hostname. Results come back as tar exports through the session.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { image, marshal, mkdir, mkfile, scratch, type State } from '../../src/llb';
import type { TarReadEntry } from '../../src/buildkit/tar';
import { testEnv, type TestEnv } from './harness';
import { entry, exportTar, solveError } from './llb-helpers';

const t = suite<{ env: TestEnv }>('llb-exec');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

const busybox = (env: TestEnv): State => image(env.images.amd64);

/** Run `shell` on `base` with an empty /out mount and return the files written there. */
async function outFiles(env: TestEnv, base: State, shell: string, opts: Parameters<State['run']>[0] = {}) {
  const run = base.run({ ...opts, shell, mounts: [...(opts.mounts ?? []), { target: '/out', from: scratch() }] });
  return exportTar(env, run.getMount('/out'));
}

const text = (files: Map<string, TarReadEntry>, p: string) => entry(files, p).data.toString();

t('relative dir() calls accumulate (testRelativeWorkDir)', async ({ env }) => {
  const files = await outFiles(env, busybox(env).dir('test1').dir('test2'), 'pwd > /out/pwd');
  assert.is(text(files, 'pwd'), '/test1/test2\n');
  const files2 = await outFiles(env, busybox(env).dir('/abs').dir('../other/./x'), 'pwd > /out/pwd');
  assert.is(text(files2, 'pwd'), '/other/x\n');
});

t('user by name, name:group, name:othergroup and uid:gid (testUser)', async ({ env }) => {
  let st = busybox(env).run({ shell: 'mkdir -m 0777 /wd' }).root();
  const runAs = (user: string, cmd: string) => {
    st = st.run({ shell: cmd, cwd: '/wd', user }).root();
  };
  runAs('www-data', 'id -nu > user; id -u > uid');
  runAs('www-data:www-data', 'id -ng > group');
  runAs('www-data:nogroup', 'id -ng > othergroup');
  runAs('1:1', 'id -u > userone; id -g > groupone');
  const out = st.run({ shell: 'cp -a /wd/. /out/', mounts: [{ target: '/out', from: scratch() }] }).getMount('/out');
  const files = await exportTar(env, out);
  assert.is(text(files, 'user'), 'www-data\n');
  assert.is(text(files, 'uid'), '33\n');
  assert.is(text(files, 'group'), 'www-data\n');
  assert.is(text(files, 'othergroup'), 'nogroup\n');
  assert.is(text(files, 'userone'), '1\n');
  assert.is(text(files, 'groupone'), '1\n');
  // Files a step writes belong to its user.
  assert.equal([entry(files, 'user').uid, entry(files, 'othergroup').gid, entry(files, 'userone').uid], [33, 65534, 1]);
});

t('extra hosts land in /etc/hosts (testExtraHosts)', async ({ env }) => {
  const base = busybox(env).addExtraHost('some.host', '1.2.3.4');
  const files = await outFiles(env, base, 'cp /etc/hosts /out/hosts', { extraHosts: [{ host: 'other.host', ip: '10.9.8.7' }] });
  const hosts = text(files, 'hosts');
  assert.match(hosts, /^1\.2\.3\.4\s+some\.host$/m);
  assert.match(hosts, /^10\.9\.8\.7\s+other\.host$/m);
  assert.match(hosts, /localhost/);
});

t('a mount with no source is an empty writable dir whose result is an output (testMountWithNoSource)', async ({ env }) => {
  const run = busybox(env).run({ shell: 'ls -A /mnt > /tmp/listing; mv /tmp/listing /mnt/listing; touch /mnt/foo', mounts: [{ target: '/mnt', from: scratch() }] });
  const files = await exportTar(env, run.getMount('/mnt'));
  assert.equal([...files.keys()].sort(), ['foo', 'listing']);
  assert.is(text(files, 'listing'), '', 'the mount started empty');
});

t('readonly rootfs: writes to / fail, writable mounts still work (testReadonlyRootFS)', async ({ env }) => {
  // root() of a read-only run is its input, so solve a writable mount to make the exec run.
  const failing = busybox(env).run({ shell: 'touch /foo', readonlyRootfs: true, mounts: [{ target: '/out', from: scratch() }] });
  const err = await solveError(env, failing.getMount('/out'));
  assert.ok(err, 'writing to a read-only root must fail');
  assert.match(err!, /Read-only file system/, 'the failure is the read-only root, not something else');
  const ro = busybox(env).run({ shell: 'touch /out/ok; if touch /probe 2>/dev/null; then echo writable > /out/root; else echo readonly > /out/root; fi', readonlyRootfs: true, mounts: [{ target: '/out', from: scratch() }] });
  const files = await exportTar(env, ro.getMount('/out'));
  assert.is(text(files, 'root'), 'readonly\n');
  assert.ok(files.has('ok'));
  // The root of a read-only run is its input: no exec output index 0 for "/".
  const head = marshal(ro.root(), { platform: 'linux/amd64' });
  assert.is(head.op(head.digest!)!.kind, 'source');
});

t('relative mount targets resolve against the working dir (testRelativeMountpoint)', async ({ env }) => {
  const id = Math.random().toString(36).slice(2);
  const run = busybox(env).dir('/root').run({ shell: `echo -n ${id} > /root/relpath/data`, mounts: [{ target: 'relpath', from: scratch() }] });
  const files = await exportTar(env, run.getMount('relpath'));
  assert.is(text(files, 'data'), id);
});

t('several writable mounts: each output index carries its own mount', async ({ env }) => {
  const seedB = scratch().file(mkfile('/seed', 0o644, 'b-seed'));
  const run = busybox(env).run({
    shell: 'echo a > /m/a/file; echo b > /m/b/file; echo root > /rootfile; echo c > /c/file',
    mounts: [
      { target: '/m/b', from: seedB },
      { target: '/m/a', from: scratch() },
      { target: '/c', from: scratch() },
    ],
  });
  const a = await exportTar(env, run.getMount('/m/a'));
  const b = await exportTar(env, run.getMount('/m/b'));
  const c = await exportTar(env, run.getMount('/c'));
  assert.equal([...a.keys()], ['file']);
  assert.is(text(a, 'file'), 'a\n');
  assert.equal([...b.keys()].sort(), ['file', 'seed']);
  assert.is(text(b, 'file'), 'b\n');
  assert.is(text(b, 'seed'), 'b-seed');
  assert.equal([...c.keys()], ['file']);
  const root = await exportTar(env, run.root());
  assert.is(text(root, 'rootfile'), 'root\n');
  assert.ok(root.has('bin/busybox'));
  assert.not.ok(root.has('m/a/file'), 'mount contents are not in the root output');
});

t('bind mount with a selector, read-only', async ({ env }) => {
  const src = scratch().file(mkdir('/sub', 0o755).mkfile('/sub/inner', 0o644, 'inner').mkfile('/top', 0o644, 'top'));
  const files = await outFiles(
    env,
    busybox(env),
    'ls -A /m > /out/ls; cat /m/inner > /out/inner; if touch /m/new 2>/dev/null; then echo writable; else echo readonly; fi > /out/mode',
    { mounts: [{ target: '/m', from: src, selector: '/sub', readonly: true }] },
  );
  assert.is(text(files, 'ls'), 'inner\n');
  assert.is(text(files, 'inner'), 'inner');
  assert.is(text(files, 'mode'), 'readonly\n');
});

t('a writable bind with a selector: its output is the WHOLE source with the change under the selector', async ({ env }) => {
  const src = scratch().file(mkdir('/sub', 0o755).mkfile('/sub/inner', 0o644, 'inner').mkfile('/top', 0o644, 'top'));
  const run = busybox(env).run({ shell: 'ls -A /m > /tmp/ls; echo added > /m/added; cp /tmp/ls /m/ls', mounts: [{ target: '/m', from: src, selector: '/sub' }] });
  const files = await exportTar(env, run.getMount('/m'));
  assert.is(text(files, 'sub/ls'), 'inner\n', 'the process saw only the selected dir');
  assert.is(text(files, 'sub/added'), 'added\n');
  assert.is(text(files, 'sub/inner'), 'inner');
  assert.is(text(files, 'top'), 'top');
  assert.not.ok(files.has('added'));
});

t('a no-output writable bind: the process may write, the change is discarded', async ({ env }) => {
  const src = scratch().file(mkfile('/orig', 0o644, 'orig'));
  const run = busybox(env).run({
    shell: 'echo scribble > /m/new; ls -A /m | sort | tr "\\n" " " > /out/seen',
    mounts: [
      { target: '/m', from: src, noOutput: true },
      { target: '/out', from: scratch() },
    ],
  });
  const files = await exportTar(env, run.getMount('/out'));
  assert.is(text(files, 'seen'), 'new orig ', 'the write succeeded inside the run');
  assert.throws(() => run.getMount('/m'), /no-output/);
  const after = await exportTar(env, src);
  assert.equal([...after.keys()], ['orig'], 'the source is untouched');
});

t('network none leaves only loopback; the default sandbox has more (testNetworkMode)', async ({ env }) => {
  const none = await outFiles(env, busybox(env), 'ls /sys/class/net | sort | tr "\\n" " " > /out/ifs', { network: 'none' });
  assert.is(text(none, 'ifs'), 'lo ');
  const stateNone = await outFiles(env, busybox(env).network('none'), 'ls /sys/class/net | sort | tr "\\n" " " > /out/ifs');
  assert.is(text(stateNone, 'ifs'), 'lo ', 'State.network() applies to later runs');
  const sandbox = await outFiles(env, busybox(env), 'ls /sys/class/net | sort | tr "\\n" " " > /out/ifs');
  assert.not.equal(text(sandbox, 'ifs'), 'lo ', `sandbox interfaces: ${text(sandbox, 'ifs')}`);
});

t('env: addEnv replaces in place of a duplicate, delEnv removes, run env adds, withEnv replaces all', async ({ env }) => {
  const base = busybox(env).addEnv('PATH', '/bin').addEnv('A', '1').addEnv('B', '2').addEnv('A', '3').addEnv('GONE', 'x').delEnv('GONE');
  const files = await outFiles(env, base, 'env | grep -E "^(A|B|C|GONE)=" > /out/env; echo "$A$B$C" > /out/vals', { env: { C: 'c', B: 'two' } });
  assert.is(text(files, 'vals'), '3twoc\n');
  assert.not.match(text(files, 'env'), /GONE/);
  assert.is(text(files, 'env').split('\n').filter((l) => l.startsWith('A=')).length, 1, 'A appears once');
  const replaced = await outFiles(env, base.withEnv(['PATH=/bin', 'ONLY=1']), 'env | grep -vE "^(PWD|SHLVL|HOME|HOSTNAME|_|OTEL_[A-Z_]*|TRACEPARENT|TRACESTATE)=" | sort > /out/env');
  assert.is(text(replaced, 'env'), 'ONLY=1\nPATH=/bin\n');
  // Values are passed verbatim: no shell or variable expansion by BuildKit.
  const verbatim = await outFiles(env, busybox(env).addEnv('PATH', '/bin').addEnv('V', '$HOME "q" `x`'), 'printf %s "$V" > /out/v');
  assert.is(text(verbatim, 'v'), '$HOME "q" `x`');
});

t('hostname, cwd creation, and args run without a shell', async ({ env }) => {
  const files = await outFiles(env, busybox(env), 'hostname > /out/hostname; pwd > /out/pwd', { hostname: 'stapel-box', cwd: '/does/not/exist/yet' });
  assert.is(text(files, 'hostname'), 'stapel-box\n');
  assert.is(text(files, 'pwd'), '/does/not/exist/yet\n');
  const argv = busybox(env).run({ args: ['/bin/busybox', 'cp', '/etc/passwd', '/out/$NOT_EXPANDED'], mounts: [{ target: '/out', from: scratch() }] });
  const out = await exportTar(env, argv.getMount('/out'));
  assert.ok(out.has('$NOT_EXPANDED'), `argv is passed as-is: ${[...out.keys()].join(',')}`);
  const shl = busybox(env).run({ shlex: `sh -c "echo 'two words' > /out/w"`, mounts: [{ target: '/out', from: scratch() }] });
  assert.is(text(await exportTar(env, shl.getMount('/out')), 'w'), 'two words\n');
});

t('proxy env is visible to the process in both spellings (testProxyEnv)', async ({ env }) => {
  const files = await outFiles(env, busybox(env), 'echo "$HTTP_PROXY|$http_proxy|$NO_PROXY|$no_proxy" > /out/p', {
    proxyEnv: { httpProxy: 'http://proxy.example:3128', noProxy: 'internal' },
  });
  assert.is(text(files, 'p'), 'http://proxy.example:3128|http://proxy.example:3128|internal|internal\n');
});

t('a failing command fails the solve with its exit code', async ({ env }) => {
  const err = await solveError(env, busybox(env).run({ shell: 'echo about to fail; exit 7' }).root());
  assert.ok(err, 'exit 7 must fail the solve');
  assert.match(err!, /7/);
});

t('security insecure needs an entitlement dockerd does not grant', async ({ env }) => {
  const err = await solveError(env, busybox(env).run({ shell: 'true', security: 'insecure' }).root());
  assert.ok(err, 'insecure mode without the entitlement must fail');
  assert.match(err!, /security\.insecure|insecure/i);
});

t.run();
