import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { walk } from '../../../src/session/walker';
import { goModeFromUnix, ModeDir, ModeSymlink, ModeSetuid, ModeDevice, ModeCharDevice, ModeNamedPipe, chmodBitsFromGo } from '../../../src/session/gomode';
import { encodeStatPacket, decodePacket, encodeSimplePacket, encodeDataPacket, PACKET_REQ, PACKET_DATA, type Stat } from '../../../src/session/packet';
import { messageType, decodeMessage } from '../../../src/proto';
import { makeContextTree, tmpDir } from './helpers';

test('walk order: pre-order, siblings in UTF-8 byte order, every entry counted', () => {
  const d = tmpDir('order');
  for (const n of ['😀', 'ﬀ', '日本', 'é', 'a.b', 'a-b', 'B', 'Z']) fs.writeFileSync(path.join(d, n), n);
  fs.mkdirSync(path.join(d, 'a'));
  fs.writeFileSync(path.join(d, 'a/z'), '');
  fs.writeFileSync(path.join(d, 'a/A'), '');
  const got = [...walk(d)].map((e) => e.stat.path);
  // 'ﬀ' (EF AC 80) sorts before '😀' (F0 9F 98 80) in UTF-8, the reverse of UTF-16 order.
  assert.equal(got, ['B', 'Z', 'a', 'a/A', 'a/z', 'a-b', 'a.b', 'é', '日本', 'ﬀ', '😀']);
});

test('stat records: Go file modes, ns mtimes, zero owners, sizes, symlink and hardlink names', () => {
  const d = makeContextTree();
  const byPath = new Map([...walk(d)].map((e) => [e.stat.path, e]));
  const src = byPath.get('src')!.stat;
  assert.is(src.mode, (ModeDir | (fs.statSync(path.join(d, 'src')).mode & 0o777)) >>> 0);
  assert.is(src.size, 0n, 'no size for directories');
  const run = byPath.get('run.sh')!;
  assert.is(run.stat.mode, 0o755);
  assert.ok(run.isFile);
  assert.is(run.stat.size, BigInt(fs.statSync(path.join(d, 'run.sh')).size));
  assert.is(run.stat.uid, 0);
  assert.is(run.stat.gid, 0);
  const readme = byPath.get('README.md')!.stat;
  assert.is(readme.modTime, fs.lstatSync(path.join(d, 'README.md'), { bigint: true }).mtimeNs);
  assert.is(readme.modTime, 1614834367500000000n, 'nanoseconds');
  const link = byPath.get('link-to-main')!;
  assert.is(link.stat.mode, (ModeSymlink | 0o777) >>> 0);
  assert.is(link.stat.linkname, 'src/main.ts');
  assert.is(link.stat.size, BigInt('src/main.ts'.length));
  assert.not.ok(link.isFile);
  // hardlinks: the later path (in walk order) names the first one
  assert.is(byPath.get('a-hard')!.stat.linkname, '');
  assert.is(byPath.get('src/b-hard')!.stat.linkname, 'a-hard');
  assert.is(byPath.get('src/b-hard')!.stat.mode, byPath.get('a-hard')!.stat.mode);
  assert.is(byPath.get('empty')!.stat.size, 0n);
  const own = [...walk(d, { keepOwners: true })].find((e) => e.stat.path === 'run.sh')!;
  assert.is(own.stat.uid, process.getuid!());
});

test('Unix st_mode → Go os.FileMode', () => {
  assert.is(goModeFromUnix(0o40755), 0x800001ed);
  assert.is(goModeFromUnix(0o120777), (ModeSymlink | 0o777) >>> 0);
  assert.is(goModeFromUnix(0o104755), (ModeSetuid | 0o755) >>> 0);
  assert.is(goModeFromUnix(0o20666), (ModeDevice | ModeCharDevice | 0o666) >>> 0);
  assert.is(goModeFromUnix(0o60660), (ModeDevice | 0o660) >>> 0);
  assert.is(goModeFromUnix(0o10644), (ModeNamedPipe | 0o644) >>> 0);
  assert.is(goModeFromUnix(0o101644), 0o644 | (1 << 20));
  assert.is(chmodBitsFromGo(goModeFromUnix(0o106755)), 0o6755);
});

test('hand-written packet codec agrees with the .proto (protobufjs)', () => {
  const Packet = messageType('fsutil.types.Packet');
  const stat: Stat = { path: 'dir/ﬁle', mode: 0x800001ed, uid: 0, gid: 1000, size: 123456789012n, modTime: 1700000000123456789n, linkname: 'x', devmajor: 0n, devminor: 7n, xattrs: new Map([['user.b', Buffer.from('2')], ['user.a', Buffer.from('1')]]) };
  const bytes = encodeStatPacket(stat);
  const viaPbjs = decodeMessage(Packet, bytes) as any;
  assert.is(viaPbjs.type, undefined, 'STAT is the zero value and is omitted');
  assert.is(viaPbjs.stat.path, 'dir/ﬁle');
  assert.is(viaPbjs.stat.mode, 0x800001ed);
  assert.is(viaPbjs.stat.gid, 1000);
  assert.is(String(viaPbjs.stat.size), '123456789012');
  assert.is(BigInt(Packet.decode(bytes).toJSON().stat.modTime), 1700000000123456789n);
  assert.is(viaPbjs.stat.linkname, 'x');
  assert.is(Number(viaPbjs.stat.devminor), 7);
  assert.is(Buffer.from(viaPbjs.stat.xattrs['user.a']).toString(), '1');
  // and protobufjs re-encodes the same bytes (same field order; our map keys are sorted like Go's)
  const again = Buffer.from(Packet.encode(Packet.decode(bytes)).finish());
  assert.ok(again.equals(bytes), `protobufjs re-encoded ${again.toString('hex')}, we wrote ${bytes.toString('hex')}`);
  const back = decodePacket(bytes);
  assert.equal({ ...back.stat!, xattrs: undefined }, { ...stat, xattrs: undefined });
  assert.is(back.stat!.xattrs!.get('user.b')!.toString(), '2');
  // negative mtimes (before 1970) use ten-byte varints like Go
  const neg = decodePacket(encodeStatPacket({ ...stat, modTime: -5n, xattrs: undefined }));
  assert.is(neg.stat!.modTime, -5n);
  assert.equal(Buffer.from(Packet.encode({ type: PACKET_REQ, ID: 300 }).finish()), encodeSimplePacket(PACKET_REQ, 300));
  const data = Buffer.from('payload');
  assert.equal(Buffer.from(Packet.encode({ type: PACKET_DATA, ID: 70000, data }).finish()), encodeDataPacket(70000, data));
  assert.equal(Buffer.from(Packet.encode({ type: PACKET_DATA, ID: 0 }).finish()), encodeSimplePacket(PACKET_DATA, 0));
  assert.equal([...encodeStatPacket(undefined)], [], 'end-of-walk STAT is an empty message');
});

test.run();
