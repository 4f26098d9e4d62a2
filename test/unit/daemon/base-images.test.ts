import * as crypto from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busyboxRootfs, busyboxTag, imageTarball } from '../../../src/daemon/base-images';
import { readTar, writeTar } from '../../../src/buildkit/tar';

test('busyboxRootfs: binary, applet links, users, /tmp', () => {
  const entries = busyboxRootfs(Buffer.from('ELF'), ['/bin/sh', '/bin/busybox', '/usr/bin/wc', '/sbin/ip']);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  assert.equal(byPath.get('bin/sh'), { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' });
  assert.equal(byPath.get('usr/bin/wc'), { type: 'symlink', path: 'usr/bin/wc', target: '/bin/busybox' });
  assert.is(byPath.get('bin/busybox')?.type, 'file');
  assert.is((byPath.get('tmp') as { mode?: number }).mode, 0o1777);
  const passwd = (byPath.get('etc/passwd') as { data: Buffer }).data.toString();
  assert.match(passwd, /^root:x:0:0:/m);
  assert.match(passwd, /^www-data:x:33:33:/m);
  assert.match((byPath.get('etc/group') as { data: Buffer }).data.toString(), /^www-data:x:33:$/m);
  // Parents come before children.
  const order = entries.map((e) => e.path);
  assert.ok(order.indexOf('usr') < order.indexOf('usr/bin') && order.indexOf('usr/bin') < order.indexOf('usr/bin/wc'));
});

test('imageTarball: docker-load layout with the right architecture and diff_id', () => {
  const layer = writeTar([{ type: 'file', path: 'hello', data: Buffer.from('hi') }]);
  const { tarball, configDigest } = imageTarball({ tag: busyboxTag('arm64'), arch: 'arm64', layer });
  const files = new Map(readTar(tarball).map((e) => [e.path, e.data]));
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  assert.equal(manifest[0].RepoTags, ['stapelkit/busybox:arm64']);
  const config = files.get(manifest[0].Config)!;
  assert.is(`sha256:${crypto.createHash('sha256').update(config).digest('hex')}`, configDigest);
  const cfg = JSON.parse(config.toString());
  assert.is(cfg.architecture, 'arm64');
  assert.is(cfg.os, 'linux');
  assert.equal(cfg.rootfs.diff_ids, [`sha256:${crypto.createHash('sha256').update(layer).digest('hex')}`]);
  assert.ok(files.get(manifest[0].Layers[0])!.equals(layer));
});

test.run();
