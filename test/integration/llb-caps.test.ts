/**
 * The LLB caps our layer assumes versus what the daemon reports (LLBBridge.Ping), and what happens
 * to a graph needing a cap the daemon lacks: refused before anything is solved, with the feature
 * named. Also: PATH handling follows the daemon's exec.meta.setsdefaultpath cap.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILDKIT_V08_LLB_CAPS, Cap, copy, decodeOp, diff, image, marshal, merge, mkfile, scratch } from '../../src/llb';
import { StapelkitError } from '../../src/errors';
import { testEnv, type TestEnv } from './harness';
import { entry, exportTar } from './llb-helpers';

const t = suite<{ env: TestEnv }>('llb-caps');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

t('our BuildKit v0.8 cap list is exactly what dockerd 20.10 reports (a newer daemon has at least those)', async ({ env }) => {
  const client = await env.client();
  const caps = (await client.llbCaps()).llb;
  const ours = new Set(BUILDKIT_V08_LLB_CAPS);
  // Exactly v0.8's list only where the daemon is that BuildKit: dockerd reporting no BuildKit version.
  const v08 = client.daemonKind === 'dockerd' && !(await client.daemonVersion()).buildkit;
  if (v08) assert.equal([...caps].filter((c) => !ours.has(c)).sort(), [], 'caps the daemon has that we do not list');
  assert.equal([...ours].filter((c) => !caps.has(c)).sort(), [], 'caps we list that the daemon lacks');
});

function refused(fn: () => unknown, cap: string): StapelkitError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, StapelkitError);
    assert.is((e as StapelkitError).code, 'LLB_CAP_MISSING');
    assert.ok((e as Error).message.includes(cap), `${(e as Error).message} names ${cap}`);
    return e as StapelkitError;
  }
  throw new Error(`expected LLB_CAP_MISSING for ${cap}`);
}

t('graphs needing caps this daemon lacks are refused at marshal time', async ({ env }) => {
  const caps = (await (await env.client()).llbCaps()).llb;
  const a = scratch().file(mkfile('/a', 0o644, 'a'));
  const b = scratch().file(mkfile('/b', 0o644, 'b'));
  const busybox = image(env.images.amd64);
  const cases: [() => unknown, string][] = [
    [() => marshal(merge([a, b]), { caps }), Cap.MergeOp],
    [() => marshal(diff(a, b), { caps }), Cap.DiffOp],
    [() => marshal(busybox.run({ shell: 'true', mounts: [{ type: 'tmpfs', target: '/t', size: 1 << 20 }] }).root(), { caps }), Cap.ExecMountTmpfsSize],
    [() => marshal(scratch().file(copy(a, '/', '/', { includePatterns: ['a'] })), { caps }), Cap.FileCopyIncludeExcludePatterns],
  ];
  const client = await env.client();
  const v08 = client.daemonKind === 'dockerd' && !(await client.daemonVersion()).buildkit;
  let lacking = 0;
  for (const [fn, cap] of cases) {
    if (v08) assert.not.ok(caps.has(cap), `v0.8 has no ${cap}`);
    if (caps.has(cap)) fn(); // a daemon that has the cap: the same graph marshals
    else {
      refused(fn, cap);
      lacking++;
    }
  }
  if (caps.has(Cap.MergeOp)) {
    console.log(`llb-caps: the daemon has mergeop (refused ${lacking} of ${cases.length} cases)`);
    return;
  }
  // The same client refuses a pre-marshalled Definition before sending it.
  const unchecked = marshal(merge([a, b]), { platform: 'linux/amd64' });
  let err: unknown;
  try {
    await (await env.client()).solve({ definition: unchecked });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof StapelkitError, `solve refused: ${String(err)}`);
  assert.match((err as Error).message, /mergeop/);
});

t('with the daemon caps, PATH is left to the daemon only if it sets a default itself', async ({ env }) => {
  const caps = (await (await env.client()).llbCaps()).llb;
  const run = image(env.images.amd64).run({ args: ['/bin/sh', '-c', 'echo "$PATH" > /out/path'], mounts: [{ target: '/out', from: scratch() }] });
  const def = marshal(run.getMount('/out'), { platform: 'linux/amd64', caps });
  const exec = def.ops.find((o) => o.kind === 'exec')!;
  const env0: string[] = decodeOp(exec.bytes).exec.meta.env ?? [];
  if (caps.has(Cap.ExecMetaSetsDefaultPath)) {
    assert.equal(env0, [], 'no PATH written when the daemon supplies one');
    assert.ok(exec.caps.includes(Cap.ExecMetaSetsDefaultPath));
  } else {
    assert.ok(env0.some((e) => e.startsWith('PATH=')));
  }
  const files = await exportTar(env, run.getMount('/out'));
  assert.match(entry(files, 'path').data.toString(), /\/usr\/bin/);
});

t.run();
