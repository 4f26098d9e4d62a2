/** Small helpers for the session integration tests (not a test file). */

export interface TarEntry { name: string; mode: number; type: string; linkname: string; data: Buffer }

/** Parses a ustar/pax stream (enough for exporter output: names, modes, types, link names, data). */
export function readTarEntries(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let paxPath: string | undefined;
  let paxLink: string | undefined;
  let longName: string | undefined;
  const str = (b: Buffer) => { const z = b.indexOf(0); return (z < 0 ? b : b.subarray(0, z)).toString(); };
  const oct = (b: Buffer) => parseInt(str(b).trim() || '0', 8);
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = oct(h.subarray(124, 136));
    const type = String.fromCharCode(h[156] || 48);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      for (const rec of data.toString().split('\n')) {
        const m = /^\d+ ([^=]+)=(.*)$/.exec(rec);
        if (m && m[1] === 'path') paxPath = m[2];
        if (m && m[1] === 'linkpath') paxLink = m[2];
      }
      continue;
    }
    if (type === 'L') { longName = str(data); continue; }
    if (type === 'g') continue;
    const prefix = str(h.subarray(345, 500));
    let name = longName ?? paxPath ?? (prefix ? `${prefix}/${str(h.subarray(0, 100))}` : str(h.subarray(0, 100)));
    name = name.replace(/^\.\//, '');
    out.push({ name, mode: oct(h.subarray(100, 108)), type: type === '\0' ? '0' : type, linkname: paxLink ?? str(h.subarray(157, 257)), data: Buffer.from(data) });
    paxPath = paxLink = longName = undefined;
  }
  return out;
}

/** Polls `cond` until true or the timeout passes (session callbacks may land just after Solve returns). */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
