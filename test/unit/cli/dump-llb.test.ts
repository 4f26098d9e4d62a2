/** `stapelkit debug dump-llb`: decoding, JSON lines, --dot, and refusal of non-Definitions. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { digestOf, image, marshal, mkdir, scratch, copy } from '../../../src/llb';
import { encodeMessage, messageType } from '../../../src/proto';
import { dumpDefinition, formatDumpDot, formatDumpJSON, goQuote } from '../../../src/cli/commands/debug';
import { StapelkitError } from '../../../src/errors';

const t = suite('cli/debug dump-llb');
const ROOT = path.resolve(__dirname, '../../..');

function sampleDefinition() {
  const files = scratch().file(mkdir('/d', 0o755).mkfile('/f', 0o600, 'data\n'), { customName: 'make "files"\nnow' });
  const run = image('docker.io/library/busybox:latest').run({ shell: 'echo hi > /out/x', mounts: [{ target: '/out', from: files }] });
  return marshal(scratch().file(copy(run.getMount('/out'), '/x', '/y')), { platform: 'linux/amd64' });
}

function throwsDumpError(bytes: Uint8Array, re: RegExp) {
  try {
    dumpDefinition(bytes);
  } catch (e) {
    assert.instance(e, StapelkitError);
    assert.is((e as StapelkitError).code, 'LLB_DUMP_INPUT');
    assert.match((e as Error).message, /not an LLB Definition/);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable('expected LLB_DUMP_INPUT');
}

const opBytes = (op: Record<string, unknown>) => encodeMessage(messageType('pb.Op'), op);
const defBytes = (ops: Buffer[]) => encodeMessage(messageType('pb.Definition'), { def: ops });

t('every op in def order with digest, kind, decoded fields and metadata', () => {
  const def = sampleDefinition();
  const dump = dumpDefinition(def.toBytes());
  assert.equal(
    dump.map((o) => o.Digest),
    def.ops.map((o) => o.digest),
  );
  assert.equal(
    dump.map((o) => o.Kind),
    ['source', 'file', 'exec', 'file', 'terminal'],
  );
  const [src, mk, exec, cp, term] = dump as any[];
  assert.is(src.Op.source.identifier, 'docker-image://docker.io/library/busybox:latest');
  assert.equal(src.Op.platform, { Architecture: 'amd64', OS: 'linux' });
  assert.equal(src.Op.constraints, {}, 'a present empty message stays visible');
  assert.is(src.Op.inputs, undefined, 'absent repeated fields are left out');
  assert.equal(src.OpMetadata, { caps: { 'source.image': true } });
  assert.is(mk.Op.file.actions[1].mkfile.data, Buffer.from('data\n').toString('base64'));
  assert.is(mk.Op.file.actions[1].mkfile.mode, 0o600);
  assert.is(mk.Op.file.actions[0].mkdir.timestamp, -1);
  assert.is(mk.OpMetadata.description['llb.customname'], 'make "files"\nnow');
  assert.equal(exec.Op.exec.meta.args, ['/bin/sh', '-c', 'echo hi > /out/x']);
  assert.equal(exec.Op.exec.mounts[1], { input: 1, dest: '/out', output: 1 });
  assert.equal(cp.Op.inputs, [{ digest: exec.Digest, index: 1 }]);
  assert.equal(term.Op, { inputs: [{ digest: cp.Digest }] });
  // The custom name makes the terminal op ask for meta.description too.
  assert.equal(term.OpMetadata, { caps: { constraints: true, 'meta.description': true, platform: true } });
});

t('JSON: one object per line that parses back to the dump', () => {
  const dump = dumpDefinition(sampleDefinition().toBytes());
  const text = formatDumpJSON(dump);
  assert.ok(text.endsWith('\n'));
  const lines = text.trimEnd().split('\n');
  assert.is(lines.length, dump.length);
  assert.equal(lines.map((l) => JSON.parse(l)), JSON.parse(JSON.stringify(dump)));
  assert.equal(Object.keys(JSON.parse(lines[0])), ['Digest', 'Kind', 'Op', 'OpMetadata']);
});

t('--dot: buildctl layout, exec edges name their mount', () => {
  const dump = dumpDefinition(sampleDefinition().toBytes());
  const dot = formatDumpDot(dump);
  const lines = dot.trimEnd().split('\n');
  assert.is(lines[0], 'digraph {');
  assert.is(lines[lines.length - 1], '}');
  assert.ok(lines.includes(`  "${dump[0].Digest}" [label="docker-image://docker.io/library/busybox:latest" shape="ellipse"];`));
  assert.ok(lines.includes(`  "${dump[1].Digest}" [label="mkdir{path=/d},mkfile{path=/f}" shape="note"];`));
  assert.ok(lines.includes(`  "${dump[2].Digest}" [label="/bin/sh -c echo hi > /out/x" shape="box"];`));
  assert.ok(lines.includes(`  "${dump[4].Digest}" [label="${dump[4].Digest}" shape="plaintext"];`));
  assert.ok(lines.includes(`  "${dump[1].Digest}" -> "${dump[2].Digest}" [label="/out"];`));
  assert.ok(lines.includes(`  "${dump[0].Digest}" -> "${dump[2].Digest}" [label=""];`));
  assert.is(lines.filter((l) => l.includes(' -> ')).length, 4);
});

t('goQuote escapes like Go %q', () => {
  assert.is(goQuote('a "b"\\c'), '"a \\"b\\"\\\\c"');
  assert.is(goQuote('x\ny\tz\x01\x7f'), '"x\\ny\\tz\\x01\\x7f"');
  assert.is(goQuote('ünï'), '"ünï"');
});

t('bad input: one clear LLB_DUMP_INPUT error', () => {
  throwsDumpError(Buffer.alloc(0), /empty/);
  throwsDumpError(Buffer.from('{"def": []}\n'), /wire type|tag|offset|out of range/);
  // Text that happens to decode as a message with only unknown fields: no ops.
  throwsDumpError(Buffer.from('hello'), /no ops|wire type|offset/);
  throwsDumpError(encodeMessage(messageType('pb.Definition'), { metadata: { 'sha256:abc': { caps: { 'file.base': true } } } }), /holds no ops/);
  const img = opBytes({ source: { identifier: 'docker-image://docker.io/library/busybox:latest' } });
  // An input naming an op that is not in the Definition.
  const dangling = opBytes({ inputs: [{ digest: 'sha256:' + '0'.repeat(64) }] });
  throwsDumpError(defBytes([img, dangling]), /not an op of this Definition/);
  // A kind-less op that is not the final terminal.
  const term = opBytes({ inputs: [{ digest: digestOf(img) }] });
  throwsDumpError(defBytes([term, img]), /has no operation/);
  // def entries that are not pb.Op.
  throwsDumpError(defBytes([Buffer.from([0x0a, 0xff])]), /def\[0\] is not a pb\.Op/);
  // The smallest valid Definition (image + terminal) is accepted.
  assert.equal(dumpDefinition(defBytes([img, term])).map((o) => o.Kind), ['source', 'terminal']);
});

function cli(args: string[], input: Buffer) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, input, encoding: 'buffer' });
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
}

t('the command reads stdin, prints JSON lines or dot, and exits 1 on bad input', () => {
  const def = sampleDefinition();
  const ok = cli(['debug', 'dump-llb'], def.toBytes());
  assert.is(ok.code, 0, ok.err);
  assert.equal(
    ok.out.trimEnd().split('\n').map((l) => JSON.parse(l).Digest),
    def.ops.map((o) => o.digest),
  );
  const dot = cli(['debug', 'dump-llb', '--dot', '-'], def.toBytes());
  assert.is(dot.code, 0, dot.err);
  assert.ok(dot.out.startsWith('digraph {\n'));
  const bad = cli(['debug', 'dump-llb'], Buffer.from('not llb at all {'));
  assert.is(bad.code, 1);
  assert.is(bad.out, '');
  assert.is(bad.err.trimEnd().split('\n').length, 1, bad.err);
  assert.match(bad.err, /^error: input is not an LLB Definition/);
});

t.run();
