/**
 * werf's import checksum (buildah's calculateDependencyImportChecksum): walk `add` in the source
 * image, keep what the import's include/exclude match, sort, and MD5 over the lines
 * `"<md5 of content (or symlink target)>  /<add>/<rel>\n"`. Read through the gateway (ReadDir /
 * ReadFile on the source stage's ref), so it works on any daemon and inside the frontend.
 */
import * as crypto from 'node:crypto';
import type { Gateway, GatewayRef, GatewayStat } from './gateway';

const S_IFMT = 0o170000;
// Go's os.FileMode type bits as fsutil sends them.
const GO_DIR = 0x80000000;
const GO_SYMLINK = 0x08000000;

export function isDirStat(s: GatewayStat): boolean {
  return (s.mode & GO_DIR) !== 0 || (s.mode & S_IFMT) === 0o040000;
}
export function isSymlinkStat(s: GatewayStat): boolean {
  return (s.mode & GO_SYMLINK) !== 0 || (s.mode & S_IFMT) === 0o120000 || !!s.linkname;
}

export interface ImportMatcher {
  /** Whether a path (relative to add) is imported. */
  match(rel: string): boolean;
  /** Whether a directory may contain matched paths (descend into it). */
  shouldGoThrough(rel: string): boolean;
}

export interface ImportScan {
  checksum: string;
  /** Matched files and symlinks relative to add, sorted (directories fully matched are listed as themselves too). */
  paths: string[];
  /** Whether `add` is a file (then paths is `[""]`). */
  addIsFile: boolean;
}

export async function scanImport(gw: Gateway, ref: GatewayRef, add: string, matcher: ImportMatcher): Promise<ImportScan> {
  const root = add === '/' ? '' : add.replace(/\/+$/, '');
  const files: { rel: string; stat: GatewayStat }[] = [];
  const top = await gw.stat(ref, root || '/');
  if (!isDirStat(top)) {
    files.push({ rel: '', stat: top });
  } else {
    const walk = async (rel: string) => {
      const entries = await gw.readDir(ref, rel ? `${root}/${rel}` : root || '/');
      for (const e of entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
        const child = rel ? `${rel}/${e.path}` : e.path;
        if (isDirStat(e)) {
          if (matcher.match(child) || matcher.shouldGoThrough(child)) await walk(child);
        } else if (matcher.match(child)) files.push({ rel: child, stat: e });
      }
    };
    await walk('');
  }
  const lines: string[] = [];
  for (const f of files) {
    const full = f.rel ? `${root}/${f.rel}` : root;
    let data: Buffer;
    if (isSymlinkStat(f.stat)) data = Buffer.from(f.stat.linkname ?? '');
    else data = await gw.readFile(ref, full);
    const sum = crypto.createHash('md5').update(data).digest('hex');
    lines.push(`${sum}  ${full.startsWith('/') ? full : '/' + full}\n`);
  }
  lines.sort();
  const h = crypto.createHash('md5');
  for (const l of lines) h.update(l);
  return { checksum: h.digest('hex'), paths: files.map((f) => f.rel), addIsFile: !isDirStat(top) };
}
