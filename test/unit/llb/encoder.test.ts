/** The deterministic protobuf writer: Go's marshal rules byte by byte. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeOp, ProtoWriter, sortKeysBytewise, encodeDefinition } from '../../../src/llb/encoder';
import { MountType } from '../../../src/llb/pb';
import { decodeDefinition } from '../../../src/llb';

const hex = (b: Buffer) => b.toString('hex');

test('varints: negatives are 10-byte two\'s complement, zeros omitted unless oneof', () => {
  assert.is(hex(new ProtoWriter().int(1, -1).finish()), '08ffffffffffffffffff01');
  assert.is(hex(new ProtoWriter().int(1, 0).finish()), '');
  assert.is(hex(new ProtoWriter().int(1, 0, true).finish()), '0800');
  assert.is(hex(new ProtoWriter().int(1, 300).finish()), '08ac02');
  assert.is(hex(new ProtoWriter().int(1, -1n).finish()), '08ffffffffffffffffff01');
  assert.is(hex(new ProtoWriter().int(1, 1_577_934_245_678_000_000n).finish()), '0880cfbe84e1dafcf215');
});

test('negative varints: number and bigint agree with the 64-bit two\'s complement, across the 32-bit boundary', () => {
  const ref = (v: bigint) => {
    const out = [0x08];
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
    return Buffer.from(out).toString('hex');
  };
  const values = [-1, -2, -127, -128, -129, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32) + 1, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 45) - 7, -Number.MAX_SAFE_INTEGER];
  for (let e = 1; e < 53; e++) values.push(-(2 ** e) + 3, -(2 ** e) - 5);
  for (const v of values) {
    assert.is(hex(new ProtoWriter().int(1, v).finish()), ref(BigInt(v)), String(v));
    assert.is(hex(new ProtoWriter().int(1, BigInt(v)).finish()), ref(BigInt(v)), `${v}n`);
  }
  for (const v of [-(2n ** 53n) - 1n, -(2n ** 63n), 2n ** 60n, 2n ** 64n - 1n]) assert.is(hex(new ProtoWriter().int(1, v).finish()), ref(v), `${v}n`);
});

test('sub-messages of 127, 128 and 16384 bytes get 1-, 2- and 3-byte lengths', () => {
  for (const [n, len] of [[125, '7f'], [126, '8001'], [16381, '808001']] as const) {
    const body = 'x'.repeat(n); // field 1 string: tag, a 1- or 2-byte length, then n bytes
    const inner = new ProtoWriter().string(1, body).finish();
    const w = new ProtoWriter().message(2, body, (m, v) => m.string(1, v)).int(3, 1);
    assert.is(hex(w.finish()), '12' + len + hex(inner) + '1801', String(n));
    assert.is(inner.length, n + (n < 128 ? 2 : 3));
  }
});

test('strings, bools, bytes: empty/false omitted; repeated strings one field each', () => {
  const w = new ProtoWriter().string(1, '').bool(2, false).bytes(3, new Uint8Array()).string(4, 'a').strings(5, ['x', '']).bool(6, true);
  assert.is(hex(w.finish()), '2201612a01782a003001');
});

test('empty sub-messages are written when present (constraints → 5a 00)', () => {
  assert.is(hex(encodeOp({ constraints: {} })), '5a00');
  assert.is(hex(encodeOp({})), '');
  assert.is(hex(encodeOp({ exec: { meta: { args: [], env: [] }, mounts: [{ dest: '/t', mountType: MountType.TMPFS, TmpfsOpt: {} }] } })), '120d0a0012091a022f7430049a0100');
});

test('oneof UserOpt.byID = 0 is written (10 00)', () => {
  const b = encodeOp({ file: { actions: [{ mkdir: { path: '/', owner: { user: { byID: 0 } } } }] } });
  assert.ok(hex(b).includes('22040a021000'), hex(b));
});

test('map entries sorted bytewise by UTF-8, key and value always written', () => {
  const b = encodeOp({ source: { identifier: '', attrs: { b: '', a: 'x', '2': 'y', '10': 'z' } } });
  // entries: "10"→z, "2"→y, "a"→x, "b"→"" (integer-like keys are not moved first, empty value kept)
  assert.is(hex(b), '1a' + '20' + '12070a02313012017a' + '12060a013212017912060a01611201781205' + '0a01621200');
});

test('bytewise key order differs from JS UTF-16 order for astral characters', () => {
  const astral = '\u{1F600}';
  const bmp = '\uFFFD';
  assert.equal([astral, bmp].sort(), [astral, bmp]); // UTF-16: D83D < FFFD
  assert.equal(sortKeysBytewise([astral, bmp, 'z', 'é']), ['z', 'é', bmp, astral]); // UTF-8: C3 < EF < F0
});

test('Definition encoding round-trips through protobufjs', () => {
  const op = encodeOp({ source: { identifier: 'local://x', attrs: {} }, constraints: {} });
  const bytes = encodeDefinition([op], { 'sha256:ab': { caps: { 'source.local': true, 'a.cap': true }, description: { 'llb.customname': 'n' }, ignore_cache: true, export_cache: { Value: false } } });
  const d = decodeDefinition(bytes);
  assert.is(d.ops.length, 1);
  assert.is(hex(d.ops[0].bytes), hex(op));
  assert.equal(d.metadata['sha256:ab'].caps, { 'a.cap': true, 'source.local': true });
  assert.equal(d.metadata['sha256:ab'].description, { 'llb.customname': 'n' });
  assert.is(d.metadata['sha256:ab'].ignore_cache, true);
  assert.equal(d.metadata['sha256:ab'].export_cache, {});
});

test.run();
