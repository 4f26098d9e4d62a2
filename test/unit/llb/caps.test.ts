/** Cap bookkeeping and refusal of features the daemon lacks, before anything is solved. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as llb from '../../../src/llb';
import { isStapelkitError, type StapelkitError } from '../../../src/errors';

const P = 'linux/amd64';
const V08 = new Set(llb.BUILDKIT_V08_LLB_CAPS);
const DAEMON = 'BuildKit v0.8';
const busybox = () => llb.image('docker.io/hob/busybox:1');
const ctx = llb.local('context', { uniqueId: 'u' });

function refusal(fn: () => unknown): StapelkitError {
  try {
    fn();
  } catch (e) {
    assert.ok(isStapelkitError(e), String(e));
    assert.is((e as StapelkitError).code, 'LLB_CAP_MISSING');
    return e as StapelkitError;
  }
  assert.unreachable('not refused');
  throw new Error('unreachable');
}

test('everything a v0.8 daemon supports marshals with its caps', () => {
  const s = busybox()
    .run({
      shell: 'make',
      network: 'none',
      mounts: [
        { type: 'cache', target: '/root/.cache', id: 'go', sharing: 'locked' },
        { type: 'tmpfs', target: '/tmp' },
        { type: 'secret', id: 'npmrc' },
        { type: 'ssh' },
        { target: '/src', from: ctx, selector: '/app', readonly: true },
      ],
      customName: 'build',
      ignoreCache: true,
    })
    .root()
    .file(llb.copy(ctx, '/', '/app', { owner: 'app:app', createDestPath: true }).rm('/x*', { allowWildcard: true }));
  const def = llb.marshal(s, { platform: P, caps: V08, daemon: DAEMON });
  assert.ok(def.caps().includes('exec.meta.setsdefaultpath'), 'daemon sets PATH: cap recorded');
  const terminal = def.op(def.terminalDigest!)!;
  assert.equal(terminal.caps, ['constraints', 'meta.description', 'meta.ignorecache', 'platform']);
  // setsdefaultpath present → Go leaves PATH to the daemon.
  const execOp = def.ops.find((o) => o.kind === 'exec')!;
  assert.not.ok(llb.decodeOp(execOp.bytes).exec.meta.env.some((e: string) => e.startsWith('PATH=')));
});

test('without exec.meta.setsdefaultpath the PATH default is written into the op', () => {
  const caps = new Set(V08);
  caps.delete('exec.meta.setsdefaultpath');
  const def = llb.marshal(busybox().run({ args: ['ls'] }).root(), { platform: P, caps });
  const op = llb.decodeOp(def.op(def.digest!)!.bytes);
  assert.equal(op.exec.meta.env, [`PATH=${llb.DEFAULT_PATH_ENV}`]);
  // An explicit PATH is kept.
  const def2 = llb.marshal(busybox().addEnv('PATH', '/bin').run({ args: ['ls'] }).root(), { platform: P, caps });
  assert.equal(llb.decodeOp(def2.op(def2.digest!)!.bytes).exec.meta.env, ['PATH=/bin']);
});

test('copy include patterns are refused on v0.8 with the cap, feature and step named', () => {
  const s = busybox().file(llb.copy(ctx, '/src', '/app', { includePatterns: ['*.go'] }));
  const e = refusal(() => llb.marshal(s, { platform: P, caps: V08, daemon: DAEMON }));
  assert.is(e.message, 'copy include/exclude patterns need BuildKit cap file.copy.includeexcludepatterns, which this daemon (BuildKit v0.8) lacks (step: copy /src /app)');
  // The same definition is fine for a daemon that has the cap.
  llb.marshal(s, { platform: P, caps: [...V08, 'file.copy.includeexcludepatterns'] });
});

test('tmpfs size is refused on v0.8 rather than silently dropped', () => {
  const s = busybox().run({ args: ['true'], mounts: [{ type: 'tmpfs', target: '/tmp', size: 64 << 20 }], customName: 'RUN with tmpfs' }).root();
  const e = refusal(() => llb.marshal(s, { platform: P, caps: V08, daemon: DAEMON }));
  assert.match(e.message, /^tmpfs mount sizes need BuildKit cap exec\.mount\.tmpfs\.size, which this daemon \(BuildKit v0\.8\) lacks \(step: RUN with tmpfs\)$/);
  // The size is really in the op (TmpfsOpt.size).
  const def = llb.marshal(s, { platform: P });
  assert.is(llb.decodeOp(def.op(def.digest!)!.bytes).exec.mounts[1].TmpfsOpt.size, 64 << 20);
});

test('merge and diff are refused on v0.8', () => {
  const m = llb.merge([busybox(), ctx]);
  assert.match(refusal(() => llb.marshal(m, { platform: P, caps: V08 })).message, /^merge operations need BuildKit cap mergeop, which this daemon lacks/);
  const d = llb.diff(busybox(), busybox().run({ args: ['true'] }).root());
  assert.match(refusal(() => llb.marshal(d, { platform: P, caps: V08 })).message, /cap diffop/);
});

test('checkCaps on a ready Definition; all missing caps listed in the hint', () => {
  const s = llb.merge([busybox(), busybox().file(llb.copy(ctx, '/', '/', { excludePatterns: ['x'] }))]);
  const def = llb.marshal(s, { platform: P });
  assert.equal(llb.missingCaps(def, V08), ['file.copy.includeexcludepatterns', 'mergeop']);
  const e = refusal(() => llb.checkCaps(def, V08, { daemon: DAEMON }));
  assert.match(e.message, /file\.copy\.includeexcludepatterns/); // graph order: the copy comes before the merge
  assert.is(e.hint, 'all missing caps: file.copy.includeexcludepatterns, mergeop');
  llb.checkCaps(def, new Set([...V08, 'mergeop', 'file.copy.includeexcludepatterns']));
});

test('image layer limit and pull mode record their caps', () => {
  const def = llb.marshal(llb.image('alpine', { layerLimit: 2, resolveMode: 'pull' }), { platform: P });
  assert.equal(def.ops[0].caps, ['source.image', 'source.image.layerlimit', 'source.image.resolvemode']);
  assert.match(refusal(() => llb.checkCaps(def, V08)).message, /image layer limits need BuildKit cap source\.image\.layerlimit/);
});

test.run();
