/**
 * A small ustar writer: enough to build image layers and docker-load tarballs in memory
 * (directories, regular files, symlinks; numeric owners; names longer than 100 bytes use the ustar
 * prefix field or, failing that, a PAX `path` record).
 */
export type TarEntry =
  | { type: 'dir'; path: string; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number; uid?: number; gid?: number; mtime?: number }
  | { type: 'symlink'; path: string; target: string; uid?: number; gid?: number; mtime?: number };

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width includes the terminating NUL
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function splitName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest.length > 0) return { name: rest, prefix };
  }
  return undefined;
}

function header(fields: { name: string; mode: number; uid: number; gid: number; size: number; mtime: number; typeflag: string; linkname?: string }): Buffer {
  const h = Buffer.alloc(BLOCK);
  const split = splitName(fields.name);
  if (!split) throw new Error(`tar: name too long for a plain ustar header: ${fields.name}`);
  h.write(split.name, 0, 100, 'utf8');
  h.write(octal(fields.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(fields.uid, 8), 108, 'ascii');
  h.write(octal(fields.gid, 8), 116, 'ascii');
  h.write(octal(fields.size, 12), 124, 'ascii');
  h.write(octal(fields.mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum is computed with spaces here
  h.write(fields.typeflag, 156, 'ascii');
  if (fields.linkname) h.write(fields.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write(split.prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function pad(len: number): Buffer {
  const r = len % BLOCK;
  return r === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - r);
}

function paxRecord(key: string, value: string): string {
  // "%d %s=%s\n" where %d counts the whole record including itself
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** The complete archive (with the two zero end blocks) for `entries`, in the given order. */
export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    let name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir' && !name.endsWith('/')) name += '/';
    const common = { uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 0 };
    if (!splitName(name) || (e.type === 'symlink' && Buffer.byteLength(e.target) > 100)) {
      let pax = paxRecord('path', name);
      if (e.type === 'symlink') pax += paxRecord('linkpath', e.target);
      const data = Buffer.from(pax);
      parts.push(header({ name: 'PaxHeader', mode: 0o644, ...common, size: data.length, typeflag: 'x' }), data, pad(data.length));
      name = name.slice(-99).replace(/^\/+/, '');
    }
    if (e.type === 'dir') parts.push(header({ name, mode: e.mode ?? 0o755, ...common, size: 0, typeflag: '5' }));
    else if (e.type === 'symlink') parts.push(header({ name, mode: 0o777, ...common, size: 0, typeflag: '2', linkname: e.target.slice(0, 100) }));
    else parts.push(header({ name, mode: e.mode ?? 0o644, ...common, size: e.data.length, typeflag: '0' }), e.data, pad(e.data.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

export interface TarReadEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
  data: Buffer;
}

/** Reads a (ustar/PAX/GNU-longname) tar archive held in memory: used to inspect exported results. */
export function readTar(buf: Buffer): TarReadEntry[] {
  const out: TarReadEntry[] = [];
  let off = 0;
  let paxPath: string | undefined;
  let paxLink: string | undefined;
  let longName: string | undefined;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const str = (s: number, l: number) => h.subarray(s, s + l).toString('utf8').replace(/\0.*$/s, '');
    const num = (s: number, l: number) => parseInt(str(s, l).trim() || '0', 8);
    const size = num(124, 12);
    const typeflag = String.fromCharCode(h[156] || 48);
    const data = buf.subarray(off + BLOCK, off + BLOCK + size);
    off += BLOCK + size + ((BLOCK - (size % BLOCK)) % BLOCK);
    if (typeflag === 'x') {
      for (const rec of data.toString('utf8').split('\n')) {
        const m = /^\d+ ([^=]+)=(.*)$/s.exec(rec);
        if (m?.[1] === 'path') paxPath = m[2];
        if (m?.[1] === 'linkpath') paxLink = m[2];
      }
      continue;
    }
    if (typeflag === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (typeflag === 'g') continue;
    const prefix = str(345, 155);
    const path = paxPath ?? longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    const type = typeflag === '5' ? 'dir' : typeflag === '2' ? 'symlink' : typeflag === '1' ? 'hardlink' : typeflag === '0' || typeflag === '7' ? 'file' : 'other';
    out.push({ path, type, mode: num(100, 8), uid: num(108, 8), gid: num(116, 8), size, linkname: paxLink ?? str(157, 100), data: Buffer.from(data) });
    paxPath = paxLink = longName = undefined;
  }
  return out;
}
