/**
 * One-shot hex digests. `crypto.hash` (Node 20.12+) hashes a small input without building a Hash
 * object — a compile computes ~35 digests per image (op digests, werf's stage hashes), so the
 * object's setup was a measurable share. Older Node falls back to createHash; same bytes either way.
 */
import * as crypto from 'node:crypto';

type OneShot = (algorithm: string, data: string | Uint8Array, outputEncoding: 'hex') => string;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

/** Hex digest of `data` (a string is hashed as UTF-8). */
export function hexDigest(algorithm: 'sha256' | 'sha3-224', data: string | Uint8Array): string {
  if (oneShot) return oneShot(algorithm, data, 'hex');
  return typeof data === 'string' ? crypto.createHash(algorithm).update(data, 'utf8').digest('hex') : crypto.createHash(algorithm).update(data).digest('hex');
}
