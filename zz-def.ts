import { image, marshal, mkdir, scratch, copy } from './src/llb';
const b = image('stapelkit/busybox:amd64');
const st = b.run({ shell: 'echo hi > /out/x', mounts: [{ target: '/out', from: scratch().file(mkdir('/d', 0o755).mkfile('/f', 0o600, 'data\n')) }] }).getMount('/out');
process.stdout.write(marshal(scratch().file(copy(st, '/x', '/y')), { platform: 'linux/amd64', localUniqueId: 'u' }).toBytes());
