/**
 * A failing RUN: a StapelkitError naming the command, its exit status and its last log lines; the
 * CLI's error reporter turns it into one message and exit status 1.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError } from '../../src/buildkit/build-error';
import { PlainPrinter } from '../../src/buildkit/progress';
import { reportError } from '../../src/cli/main';
import { isStapelkitError } from '../../src/errors';
import { image, marshal } from '../../src/llb';
import { dockerdOnly, opDigests, testEnv, type TestEnv } from './harness';
import { Writable } from 'node:stream';

const t = suite<{ env: TestEnv }>('failing RUN');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

t('exit 3 gives a clear error with the command, status and last log lines', async ({ env }) => {
  const client = await env.client();
  const lines = Array.from({ length: 15 }, (_, i) => `echo progress line ${i + 1}`).join('; ');
  const def = marshal(image(env.images.amd64).run({ shell: `${lines}; echo about to fail >&2; exit 3`, ignoreCache: true }).root(), { platform: 'linux/amd64' });
  const [run] = opDigests(def, 'exec');
  let printed = '';
  const sink = new Writable({
    write(chunk, _e, cb) {
      printed += chunk.toString();
      cb();
    },
  });
  let err: unknown;
  try {
    await client.solve({ definition: def }, new PlainPrinter(sink));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BuildError, `a BuildError, got ${String(err)}`);
  const be = err as BuildError;
  assert.is(be.code, 'BUILD_FAILED');
  assert.is(be.exitCode, 3);
  assert.ok(be.command?.includes('exit 3'), `command: ${be.command}`);
  assert.is(be.vertex, run, 'the failing vertex is the exec');
  // stdout and stderr arrive as separate streams: their relative order is not fixed.
  assert.ok(be.logTail.includes('about to fail'), be.logTail.join('|'));
  assert.ok(be.logTail.includes('progress line 15'));
  assert.ok(be.logTail.length <= 10);
  assert.not.ok(be.logTail.includes('progress line 1'), 'only the last lines');
  assert.match(be.message, /command 'echo progress line 1; .*' exited 3/);
  assert.match(be.message, /about to fail/);
  assert.match(printed, /ERROR: .*exit code: 3/);

  // What the CLI prints and returns for it.
  let stderr = '';
  const orig = process.stderr.write.bind(process.stderr);
  (process.stderr as any).write = (s: string) => {
    stderr += s;
    return true;
  };
  let code: number;
  try {
    code = reportError(err, false);
  } finally {
    (process.stderr as any).write = orig;
  }
  assert.is(code, 1);
  assert.ok(isStapelkitError(err));
  assert.match(stderr, /^error: .*command '.*' exited 3/);
  assert.match(stderr, /about to fail/);
});

dockerdOnly(t, 'moby exporter, docker image inspect')('the same failure through the gateway path (solve with imageConfig)', async ({ env }) => {
  const client = await env.client();
  const def = marshal(image(env.images.amd64).run({ shell: 'echo via gateway; exit 7', ignoreCache: true }).root(), { platform: 'linux/amd64' });
  const [run] = opDigests(def, 'exec');
  let err: any;
  try {
    await client.solve({ definition: def, exporter: { type: 'moby', attrs: { name: 'stapelkit-test/never:1' } }, imageConfig: { architecture: 'amd64', os: 'linux' } });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BuildError, `a BuildError, got ${String(err)}`);
  assert.is(err.exitCode, 7);
  assert.is(err.vertex, run);
  assert.equal(err.logTail, ['via gateway']);
  assert.is(await env.docker.inspectImage('stapelkit-test/never:1'), undefined, 'nothing was exported');
});

t('an error in a non-exec vertex (missing image) names it', async ({ env }) => {
  const client = await env.client();
  const def = marshal(image('stapelkit-test/does-not-exist:nope').run({ shell: 'true' }).root(), { platform: 'linux/amd64' });
  let err: any;
  try {
    await client.solve({ definition: def });
  } catch (e) {
    err = e;
  }
  assert.ok(isStapelkitError(err), String(err));
  assert.is(err.code, 'BUILD_FAILED');
  assert.is((err as BuildError).exitCode, undefined);
  assert.match(err.message, /does-not-exist/);
});

t.run();
