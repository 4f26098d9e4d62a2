import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { Session } from '/work/main/src/session';
import { decodePacket, encodeSimplePacket, PACKET_STAT, PACKET_DATA, PACKET_FIN, PACKET_REQ } from '/work/main/src/session/packet';
// server only: serve session on a unix socket; the client runs in a child process
const ctx = process.argv[2];
const role = process.argv[3];
const sock = process.argv[4];
function nullReceiver(conn: Duplex): Promise<{ bytes: number; files: number }> {
  return new Promise((resolve, reject) => {
    let id = 0, pending = 0, statsDone = false, fin = false, bytes = 0, files = 0;
    const check = () => { if (statsDone && pending === 0 && !fin) { fin = true; conn.write(encodeSimplePacket(PACKET_FIN)); } };
    conn.on('data', (m: Buffer) => {
      const p = decodePacket(m);
      if (p.type === PACKET_STAT) {
        if (!p.stat) { statsDone = true; check(); return; }
        const i = id++;
        if ((p.stat.mode & 0xfff80000) === 0 && !p.stat.linkname) { pending++; files++; conn.write(encodeSimplePacket(PACKET_REQ, i)); }
      } else if (p.type === PACKET_DATA) {
        if (!p.data || !p.data.length) { pending--; check(); } else bytes += p.data.length;
      } else if (p.type === PACKET_FIN) { conn.end(); resolve({ bytes, files }); }
    });
    conn.on('error', reject);
  });
}
(async () => {
  if (role === 'client') {
    const client = new grpc.Client(`unix://${sock}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata(); md.add('dir-name', 'context');
    const id = (x: Buffer) => x;
    const t = Date.now();
    const r2 = await nullReceiver(client.makeBidiStreamRequest('/moby.filesync.v1.FileSync/DiffCopy', id, id, md) as unknown as Duplex);
    console.log(`client: ${r2.files} files ${(r2.bytes / 1048576).toFixed(0)} MiB ${Date.now() - t} ms`);
    client.close();
    return;
  }
  const session = new Session({ syncedDirs: { context: { dir: ctx } }, ssh: [], chunkSize: Number(process.env.CHUNK || 32768) });
  const s = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'p-')), 's');
  const srv = net.createServer((c) => { void session.serve(c); });
  await new Promise<void>((res) => srv.listen(s, res));
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, ctx, 'client', s], { stdio: 'inherit' });
  await new Promise((r) => child.on('close', r));
  await session.close(); srv.close();
})();
