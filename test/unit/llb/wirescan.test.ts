/** The schema-less wire walker agrees with the encoder on every wire type it meets, and refuses truncated bytes. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { ProtoWriter } from '../../../src/llb/encoder';
import { forEachWireField, wireFields, wireString } from '../../../src/llb/wirescan';
import { isStapelkitError } from '../../../src/errors';

const t = suite('llb/wirescan');

t('fields in wire order: varints (also 10-byte negatives), strings, nested messages; the last string wins', () => {
  const w = new ProtoWriter();
  w.int(1, 300).string(2, 'first').message(3, {}, (m) => m.string(1, 'inner').int(2, 5)).int(4, -1).string(2, 'läst');
  const bytes = w.finish();
  const fields = [...wireFields(bytes)];
  assert.equal(fields.map((f) => [f.field, f.wire]), [[1, 0], [2, 2], [3, 2], [4, 0], [2, 2]]);
  assert.is(fields[0].varint, 300);
  assert.is(fields[3].varint, 2 ** 64 - 1); // approximated above 2^53; only small varints are read
  assert.equal([...wireFields(fields[2].bytes!)].map((f) => f.field), [1, 2]);
  assert.is(wireString(fields[2].bytes!, 1), 'inner');
  assert.is(wireString(bytes, 2), 'läst');
  assert.is(wireString(bytes, 9), undefined);
});

t('forEachWireField visits the fields wireFields yields, in the same order', () => {
  const w = new ProtoWriter();
  w.int(1, 300).string(2, 'first').message(3, {}, (m) => m.string(1, 'x'.repeat(200)).int(2, 5)).int(4, -1).bytes(5, Buffer.from([1, 2, 3])).string(2, 'läst');
  const bytes = w.finish();
  const seen: [number, number, number, string | undefined][] = [];
  forEachWireField(bytes, (field, wire, varint, b) => seen.push([field, wire, varint, b && Buffer.from(b).toString('hex')]));
  assert.equal(seen, [...wireFields(bytes)].map((f) => [f.field, f.wire, f.varint, f.bytes && Buffer.from(f.bytes).toString('hex')]));
  assert.is(seen.length, 6);
});

t('truncated bytes are an LLB_INVALID error, not a silent partial read', () => {
  const bytes = new ProtoWriter().string(1, 'abcdef').finish();
  for (const cut of [bytes.subarray(0, 4), Buffer.from([0x08, 0x80])]) {
    try {
      [...wireFields(cut)];
      assert.unreachable('should throw');
    } catch (e) {
      assert.ok(isStapelkitError(e) && e.code === 'LLB_INVALID', String(e));
    }
    try {
      forEachWireField(cut, () => undefined);
      assert.unreachable('should throw');
    } catch (e) {
      assert.ok(isStapelkitError(e) && e.code === 'LLB_INVALID', String(e));
    }
  }
});

t.run();
