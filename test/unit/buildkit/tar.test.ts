import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readTar, writeTar } from '../../../src/buildkit/tar';

const longDir = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
const veryLong = `${'x'.repeat(120)}/${'y'.repeat(120)}`;

test('writeTar → readTar round trip: dirs, files, symlinks, owners, long names', () => {
  const buf = writeTar([
    { type: 'dir', path: 'bin', mode: 0o755 },
    { type: 'file', path: 'bin/tool', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755, uid: 33, gid: 33 },
    { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: `${longDir}/file.txt`, data: Buffer.from('prefix field') },
    { type: 'file', path: `${veryLong}/z`, data: Buffer.from('pax path') },
  ]);
  assert.is(buf.length % 512, 0);
  const entries = readTar(buf);
  assert.equal(entries.map((e) => [e.path, e.type]), [
    ['bin/', 'dir'],
    ['bin/tool', 'file'],
    ['bin/sh', 'symlink'],
    ['tmp/', 'dir'],
    [`${longDir}/file.txt`, 'file'],
    [`${veryLong}/z`, 'file'],
  ]);
  assert.is(entries[1].mode, 0o755);
  assert.is(entries[1].uid, 33);
  assert.is(entries[1].data.toString(), '#!/bin/sh\necho hi\n');
  assert.is(entries[2].linkname, '/bin/busybox');
  assert.is(entries[3].mode, 0o1777);
  assert.is(entries[5].data.toString(), 'pax path');
});

test('GNU tar reads what writeTar writes', () => {
  const which = spawnSync('tar', ['--version']);
  assert.is(which.status, 0, 'tar is installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-tar-'));
  try {
    const file = path.join(dir, 'a.tar');
    fs.writeFileSync(file, writeTar([
      { type: 'dir', path: 'etc' },
      { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0::/root:/bin/sh\n'), mode: 0o644 },
      { type: 'symlink', path: 'etc/link', target: 'passwd' },
      { type: 'file', path: `${veryLong}/deep`, data: Buffer.from('deep') },
    ]));
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    const r = spawnSync('tar', ['-xf', file, '-C', out], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(fs.readFileSync(path.join(out, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    assert.is(fs.readlinkSync(path.join(out, 'etc/link')), 'passwd');
    assert.is(fs.readFileSync(path.join(out, veryLong, 'deep'), 'utf8'), 'deep');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
