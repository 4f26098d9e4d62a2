/**
 * Compiler unit tests (no daemon): the LLB and image config a Dockerfile compiles to, positioned
 * errors for bad input, lowering for BuildKit v0.8 caps, and werf's dockerfile digest.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileDockerfile, dockerfileStageDependencies, dockerfileStageDigest, sha256Hash, type CompileOptions } from '../../../src/dockerfile';
import { BUILDKIT_V08_LLB_CAPS, decodeOp, local, marshal } from '../../../src/llb';
import type { StapelkitError } from '../../../src/errors';

const t = suite('dockerfile compile');

const resolved: string[] = [];
const base: Omit<CompileOptions, 'context'> & { context: CompileOptions['context'] } = {
  context: local('context'),
  buildPlatform: 'linux/amd64',
  resolveImage: async (ref) => {
    resolved.push(ref);
    return { digest: 'sha256:' + 'a'.repeat(64), config: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin', 'BASE=1'], Cmd: ['sh'], WorkingDir: '/srv', User: 'www-data', OnBuild: ref.includes('onbuild') ? ['RUN echo trig'] : undefined } } };
  },
};

async function errorOf(text: string, opts: Partial<CompileOptions> = {}): Promise<string> {
  try {
    await compileDockerfile(text, { ...base, ...opts });
  } catch (e) {
    return (e as StapelkitError).format ? (e as StapelkitError).format() : String(e);
  }
  return 'no error';
}

function opsOf(r: { state: Parameters<typeof marshal>[0] }) {
  return marshal(r.state, { platform: 'linux/amd64' }).ops.filter((o) => o.kind !== 'terminal').map((o) => ({ kind: o.kind, name: o.name, op: decodeOp(o.bytes) }));
}

t('base image config: env, workdir, user flow into RUN; digest pinned; Cmd kept', async () => {
  const r = await compileDockerfile('FROM busybox\nRUN id\n', base);
  const ops = opsOf(r);
  assert.is(ops[0].op.source.identifier, `docker-image://docker.io/library/busybox@sha256:${'a'.repeat(64)}`);
  const exec = ops[1].op.exec.meta;
  assert.equal(exec.env, ['PATH=/bin', 'BASE=1']);
  assert.is(exec.cwd, '/srv');
  assert.is(exec.user, 'www-data');
  assert.equal(exec.args, ['/bin/sh', '-c', 'id']);
  assert.is(ops[1].name, '[stage-0 2/2] RUN id');
  assert.equal(r.imageConfig.config?.Cmd, ['sh']);
  assert.is(r.steps[1].range.start.line, 2);
});

t('only stages the target needs are resolved and built', async () => {
  resolved.length = 0;
  const r = await compileDockerfile('FROM a AS one\nRUN x\nFROM b AS two\nRUN y\nFROM c\nCOPY --from=one /x /x\n', base);
  assert.equal(resolved.sort(), ['a', 'c']);
  assert.equal(r.stages, ['one', 'stage-2']);
  const t2 = await compileDockerfile('FROM a AS one\nFROM b AS two\nFROM c\n', { ...base, target: 'two' });
  assert.equal(t2.stages, ['two']);
});

t('ARG scoping: global ARG needs re-declaring; build args override; platform args', async () => {
  const r = await compileDockerfile('ARG G=g\nARG TAG=1\nFROM img:$TAG\nARG G\nARG L=l\nARG TARGETARCH\nRUN true\n', { ...base, buildArgs: { L: 'over', TAG: '2' }, platform: 'linux/arm64' });
  const ops = opsOf(r);
  assert.match(ops[0].op.source.identifier, /img@sha256/);
  assert.equal(resolved.slice(-1), ['img:2']);
  const env = ops.find((o) => o.kind === 'exec')!.op.exec.meta.env;
  assert.ok(env.includes('G=g') && env.includes('L=over') && env.includes('TARGETARCH=arm64'), env.join(' '));
  assert.is(r.imageConfig.architecture, 'arm64');
  assert.equal(r.unusedBuildArgs, []);
});

t('ENTRYPOINT resets an inherited Cmd; SHELL changes shell forms', async () => {
  const r = await compileDockerfile('FROM x\nSHELL ["/bin/bash","-c"]\nENTRYPOINT run me\n', base);
  assert.equal(r.imageConfig.config?.Entrypoint, ['/bin/bash', '-c', 'run me']);
  assert.is(r.imageConfig.config?.Cmd, undefined);
});

t('ONBUILD triggers of the base run first and are cleared', async () => {
  const r = await compileDockerfile('FROM onbuild-base\nRUN after\n', base);
  const execs = opsOf(r).filter((o) => o.kind === 'exec').map((o) => o.op.exec.meta.args[2]);
  assert.equal(execs, ['echo trig', 'after']);
  assert.is(r.imageConfig.config?.OnBuild, undefined);
});

t('COPY --link is lowered to a plain copy on BuildKit v0.8 (no MergeOp) and merged when available', async () => {
  const v08 = await compileDockerfile('FROM x\nCOPY --link a /a\n', { ...base, caps: new Set(BUILDKIT_V08_LLB_CAPS) });
  assert.not.ok(opsOf(v08).some((o) => o.kind === 'merge'));
  const modern = await compileDockerfile('FROM x\nCOPY --link a /a\n', { ...base, caps: new Set([...BUILDKIT_V08_LLB_CAPS, 'mergeop']) });
  assert.ok(opsOf(modern).some((o) => o.kind === 'merge'));
});

t('dockerignore patterns become the context excludes', async () => {
  let seen: string[] = [];
  await compileDockerfile('FROM x\nCOPY . /\n', { ...base, dockerignore: '# c\n*.log\n!keep.log\n/abs\n', context: ({ excludePatterns }) => ((seen = excludePatterns), local('context')) });
  assert.equal(seen, ['*.log', '!keep.log', 'abs']);
});

t('heredoc COPY writes the body (expanded unless quoted)', async () => {
  const r = await compileDockerfile("FROM x\nARG W=world\nCOPY <<EOF <<'RAW' /d/\nhi $W\nEOF\nhi $W\nRAW\n", base);
  const mk = opsOf(r).filter((o) => o.kind === 'file' && o.op.file.actions[0].mkfile).map((o) => Buffer.from(o.op.file.actions[0].mkfile.data).toString());
  assert.equal(mk, ['hi world\n', 'hi $W\n']);
});

t('requiredSecrets/requiredSsh (werf.yaml secrets and ssh) make those mounts required; others keep the Dockerfile\'s optional', async () => {
  const text = 'FROM busybox\nRUN --mount=type=secret,id=declared --mount=type=secret,id=other --mount=type=secret,id=opt,required=true --mount=type=ssh --mount=type=ssh,id=extra true\n';
  const mounts = async (opts: Partial<CompileOptions>) => {
    const exec = opsOf(await compileDockerfile(text, { ...base, ...opts })).find((o) => o.kind === 'exec')!;
    return (exec.op as any).exec.mounts.filter((m: any) => m.secretOpt || m.SSHOpt).map((m: any) => `${m.secretOpt ? 'secret' : 'ssh'}:${(m.secretOpt ?? m.SSHOpt).ID ?? ''}:${(m.secretOpt ?? m.SSHOpt).optional ? 'optional' : 'required'}`);
  };
  assert.equal(await mounts({}), ['secret:declared:optional', 'secret:other:optional', 'secret:opt:required', 'ssh::optional', 'ssh:extra:optional']);
  assert.equal(await mounts({ requiredSecrets: new Set(['declared']), requiredSsh: new Set(['default']) }), ['secret:declared:required', 'secret:other:optional', 'secret:opt:required', 'ssh::required', 'ssh:extra:optional']);
});

t('every op of an instruction carries its Dockerfile lines in Definition.Source', async () => {
  const text = 'FROM x\nRUN a \\\n  b\nCOPY f /f\n';
  const r = await compileDockerfile(text, { ...base, file: 'app/Dockerfile' });
  const def = marshal(r.state, { platform: 'linux/amd64' });
  assert.is(def.source?.infos[0].filename, 'app/Dockerfile');
  assert.is(def.source?.infos[0].data?.toString(), text);
  const byName = new Map(def.ops.map((o) => [o.digest, o.name]));
  const lines = Object.entries(def.source!.locations).map(([dg, l]) => `${byName.get(dg)} ${l.locations[0].ranges[0].start.line}-${l.locations[0].ranges[0].end.line}`).sort();
  assert.equal(lines, ['[stage-0 1/3] FROM docker.io/library/x@sha256:' + 'a'.repeat(64) + ' 1-1', '[stage-0 2/3] RUN a   b 2-3', '[stage-0 3/3] COPY f /f 4-4']);
});

t('--platform linux/arm64: $BUILDPLATFORM stages run as amd64, the rest as arm64; platform args per stage', async () => {
  const text = 'FROM --platform=$BUILDPLATFORM x AS build\nARG TARGETARCH\nARG BUILDARCH\nRUN echo $BUILDARCH $TARGETARCH\nFROM y\nCOPY --from=build /o /o\nRUN true\n';
  const r = await compileDockerfile(text, { ...base, platform: 'linux/arm64', buildPlatform: 'linux/amd64' });
  const ops = opsOf(r);
  const plat = (o: (typeof ops)[number]) => o.op.platform?.Architecture;
  const runs = ops.filter((o) => o.kind === 'exec');
  assert.equal(runs.map((o) => [o.op.exec.meta.args[2], plat(o)]), [['echo $BUILDARCH $TARGETARCH', 'amd64'], ['true', 'arm64']]);
  assert.ok(runs[0].op.exec.meta.env.includes('BUILDARCH=amd64') && runs[0].op.exec.meta.env.includes('TARGETARCH=arm64'));
  assert.equal(ops.filter((o) => o.kind === 'source').map(plat).sort(), ['amd64', 'arm64']);
  assert.is(r.imageConfig.architecture, 'arm64');
});

const errorCases: [string, string, RegExp, Partial<CompileOptions>?][] = [
  ['unknown instruction', 'FROM x\nFROBNICATE a\n', /^Dockerfile:2:1: unknown instruction: FROBNICATE: FROBNICATE a/],
  ['bad flag', 'FROM x\nCOPY --frm=a b c\n', /^Dockerfile:2:6: unknown flag: --frm for COPY.*: COPY --frm=a b c/],
  ['flag without value', 'FROM x\nCOPY --from b c\n', /^Dockerfile:2:6: Missing a value on flag: --from/],
  ['undefined stage index in --from', 'FROM x\nCOPY --from=3 /a /b\n', /^Dockerfile:2:6: --from=3: there is no stage 3/],
  ['undefined stage name in --from', 'FROM x\nCOPY --from=nosuch /a /b\n', /^Dockerfile:2:1: "nosuch" is neither a build stage nor an image that resolves: no such image.*COPY --from=nosuch/, { resolveImage: async (ref) => { if (ref === 'nosuch') throw new Error('no such image'); return { config: {} }; } }],
  ['unterminated heredoc', 'FROM x\nRUN <<EOF\necho\n', /^Dockerfile:2:1: unterminated heredoc "EOF".*: RUN <<EOF/],
  ['bad dockerignore pattern', 'FROM x\n', /^\.dockerignore:2:1: bad pattern "\[z-a"/, { dockerignore: 'ok\n[z-a\n' }],
  ['instruction before FROM', 'RUN x\nFROM y\n', /^Dockerfile:1:1: no build stage in current context/],
  ['FROM arguments', 'FROM a b\n', /^Dockerfile:1:6: FROM requires either one or three arguments/],
  ['COPY without destination', 'FROM x\nCOPY onlyone\n', /^Dockerfile:2:6: COPY requires at least two arguments/],
  ['bad mount option', 'FROM x\nRUN --mount=type=cache,target=/c,sharing=maybe true\n', /^Dockerfile:2:5: --mount \(#1\): unsupported sharing value "maybe"/],
  ['bad expansion', 'FROM x\nENV A=${B\n', /^Dockerfile:2:1: syntax error: missing '}'/],
  ['JSON with non-strings', 'FROM x\nCMD ["a", 1]\n', /^Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only/],
  ['COPY of a URL', 'FROM x\nCOPY http://example.com/f /f\n', /^Dockerfile:2:1: source can't be a URL for COPY/],
  ['unknown target', 'FROM x AS a\n', /target stage "b" could not be found/, { target: 'b' }],
  ['bad chmod', 'FROM x\nCOPY --chmod=rwx a /a\n', /^Dockerfile:2:6: invalid chmod parameter "rwx"/],
  ['a cap the daemon lacks is named', 'FROM x\nRUN --mount=type=tmpfs,target=/t,size=64m true\n', /^Dockerfile:2:5: --mount type=tmpfs,size= needs BuildKit cap exec\.mount\.tmpfs\.size/, { caps: new Set(BUILDKIT_V08_LLB_CAPS) }],
  ['stage cycle', 'FROM x AS a\nCOPY --from=b /x /x\nFROM x AS b\nCOPY --from=a /y /y\n', /circular dependency detected/],
];
for (const [name, text, re, opts] of errorCases) t(`error: ${name}`, async () => assert.match(await errorOf(text, opts), re));

// ---- werf digest ----
const checksums: Record<string, string> = { 'app.js': 'c1', 'README.md': 'r1' };
const checksum = (sources: string[]) => sources.map((s) => `${s}=${checksums[s] ?? 'none'}`).join(',');

t('digest: an unrelated file change does not change it; a copied file change does', async () => {
  const df = 'FROM node\nCOPY app.js /app/\nRUN build\n';
  const d1 = await dockerfileStageDigest(df, { checksum });
  checksums['README.md'] = 'r2';
  assert.is(await dockerfileStageDigest(df, { checksum }), d1);
  checksums['app.js'] = 'c2';
  assert.is.not(await dockerfileStageDigest(df, { checksum }), d1);
});

t('digest: ARG value priority dependency > args > default, and cacheVersion', async () => {
  const df = 'FROM x\nARG V=def\nRUN echo $V\n';
  const a = await dockerfileStageDependencies(df, { checksum });
  const b = await dockerfileStageDependencies(df, { checksum, buildArgs: { V: 'arg' } });
  const c = await dockerfileStageDependencies(df, { checksum, buildArgs: { V: 'arg' }, dependencyArgs: { V: 'dep' } });
  const d = await dockerfileStageDependencies(df, { checksum, buildArgs: { V: 'dep' } });
  assert.is.not(a, b);
  assert.is(c, d);
  assert.is.not(await dockerfileStageDependencies(df, { checksum, imageCacheVersion: '2' }), a);
  // The exact list werf hashes: base name, ARG k=v, expanded RUN text.
  assert.is(a, sha256Hash('x', 'ARG V=def', 'RUN echo def'));
});

t('digest: stages merge along FROM <name> and COPY --from=<index> (not --from=<name>), COPY --from has no checksum', async () => {
  const df = 'FROM a AS one\nRUN one\nFROM one\nCOPY --from=0 /x /x\nCOPY --from=one /y /y\n';
  const got = await dockerfileStageDependencies(df, { checksum });
  assert.is(got, sha256Hash('one', 'COPY --from=0 /x /x', 'COPY --from=one /y /y', 'a', 'RUN one', 'a', 'RUN one'));
});

t('digest: platform other than linux/amd64 is part of the stage digest', async () => {
  const df = 'FROM x\n';
  assert.is.not(await dockerfileStageDigest(df, { checksum, platform: 'linux/arm64' }), await dockerfileStageDigest(df, { checksum, platform: 'linux/amd64' }));
});

t.run();
