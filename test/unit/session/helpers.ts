/** Shared fixtures for the session unit tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `stapelkit-${prefix}-`));
}

/**
 * A context with nested dirs, a symlink, an executable, a hardlink pair, an empty file, a large file
 * (several DATA chunks) and paths meant to be excluded.
 */
export function makeContextTree(): string {
  const d = tmpDir('ctx');
  fs.mkdirSync(path.join(d, 'src/lib/deep'), { recursive: true });
  fs.mkdirSync(path.join(d, 'node_modules/pkg'), { recursive: true });
  fs.mkdirSync(path.join(d, 'empty-dir'));
  fs.writeFileSync(path.join(d, 'README.md'), '# hello\n');
  fs.writeFileSync(path.join(d, 'src/main.ts'), 'console.log(1)\n');
  fs.writeFileSync(path.join(d, 'src/lib/deep/data.txt'), 'deep\n');
  fs.writeFileSync(path.join(d, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  fs.chmodSync(path.join(d, 'run.sh'), 0o755);
  fs.writeFileSync(path.join(d, 'empty'), '');
  fs.writeFileSync(path.join(d, 'a-hard'), 'linked content\n');
  fs.linkSync(path.join(d, 'a-hard'), path.join(d, 'src/b-hard'));
  fs.symlinkSync('src/main.ts', path.join(d, 'link-to-main'));
  fs.symlinkSync('/nonexistent/target', path.join(d, 'dangling'));
  const big = Buffer.alloc(200 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
  fs.writeFileSync(path.join(d, 'src/big.bin'), big);
  fs.writeFileSync(path.join(d, 'node_modules/pkg/index.js'), 'module.exports = 1\n');
  fs.writeFileSync(path.join(d, 'secret.env'), 'TOKEN=x\n');
  fs.writeFileSync(path.join(d, 'src/lib/keep.log'), 'kept by exception\n');
  fs.writeFileSync(path.join(d, 'src/lib/drop.log'), 'dropped\n');
  // 2021-03-04T05:06:07.5Z: exactly representable, so the nanosecond value is predictable.
  fs.utimesSync(path.join(d, 'README.md'), 1614834367.5, 1614834367.5);
  return d;
}

export interface TreeEntry { type: 'dir' | 'file' | 'symlink'; mode: number; content?: string; target?: string; ino?: number; mtimeMs?: number }

/** Path → description of a tree, for comparisons. Hardlinks show up as equal `ino` groups. */
export function describeTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const rec = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = fs.lstatSync(abs);
      if (st.isDirectory()) { out.set(r, { type: 'dir', mode: st.mode & 0o7777 }); rec(r); }
      else if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode: 0, target: fs.readlinkSync(abs) });
      else out.set(r, { type: 'file', mode: st.mode & 0o7777, content: fs.readFileSync(abs).toString('base64'), ino: st.ino, mtimeMs: Math.floor(st.mtimeMs) });
    }
  };
  rec('');
  return out;
}
