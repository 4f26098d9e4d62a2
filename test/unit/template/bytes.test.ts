/**
 * The byte-string representation (src/template/bytes.ts): any bytes survive goString → goBytes,
 * valid UTF-8 is held as plain text, and joining pieces then normalizing equals decoding the joined bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goByteLength, goBytes, goNormalize, goRunes, goString, hasRawBytes, invalidUtf8Offset } from '../../../src/template/bytes';

// deterministic pseudo-random bytes, biased towards UTF-8 lead/continuation bytes
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
}
const pick = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f];

test('any bytes round-trip; the string form is canonical', () => {
  const r = rng(7);
  for (let k = 0; k < 3000; k++) {
    const n = Math.floor(r() * 12);
    const b = Buffer.from(Array.from({ length: n }, () => (r() < 0.7 ? pick[Math.floor(r() * pick.length)] : Math.floor(r() * 256))));
    const s = goString(b);
    assert.ok(goBytes(s).equals(b), b.toString('hex'));
    assert.is(goByteLength(s), b.length);
    assert.is(goNormalize(s), s);
    assert.is(hasRawBytes(s), !Buffer.from(b.toString('utf8'), 'utf8').equals(b));
    // split anywhere, decode the halves, join: normalizing gives the whole's form
    const cut = Math.floor(r() * (n + 1));
    assert.is(goNormalize(goString(b.subarray(0, cut)) + goString(b.subarray(cut))), s, b.toString('hex'));
  }
});

test('valid UTF-8 is plain text; Go rejects surrogates, overlongs and > U+10FFFF', () => {
  assert.is(goString(Buffer.from('héllo 😀')), 'héllo 😀');
  for (const bad of ['eda080', 'c0af', 'e08080', 'f4908080', 'f8', 'c3']) assert.ok(hasRawBytes(goString(Buffer.from(bad, 'hex'))), bad);
  assert.is(goRunes(goString(Buffer.from('61ff62', 'hex'))), 'a\uFFFDb');
  assert.is(invalidUtf8Offset(goString(Buffer.from('c3a9ff', 'hex'))), 2);
  assert.is(invalidUtf8Offset('plain'), -1);
});

test.run();
