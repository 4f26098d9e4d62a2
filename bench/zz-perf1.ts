import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { Session } from '/work/main/src/session';
import { sendDiffCopy } from '/work/main/src/session/diffcopy';
import { messagePair } from '/work/main/src/session/stream';
import { decodePacket, encodeSimplePacket, PACKET_STAT, PACKET_DATA, PACKET_FIN, PACKET_REQ } from '/work/main/src/session/packet';
import { walk } from '/work/main/src/session/walker';

const ctx = process.argv[2];
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
  let t = Date.now();
  let n = 0; for (const e of walk(ctx)) n++;
  console.log(`walk: ${n} entries ${Date.now() - t} ms`);
  t = Date.now();
  const [a, b] = messagePair();
  const [s, r] = await Promise.all([sendDiffCopy(a, ctx), nullReceiver(b)]);
  console.log(`in-process: ${r.files} files ${(r.bytes / 1048576).toFixed(0)} MiB ${Date.now() - t} ms`);
  for (const chunk of [32768, 262144]) {
    const session = new Session({ syncedDirs: { context: { dir: ctx } }, ssh: [], chunkSize: chunk });
    const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'p-')), 's');
    const srv = net.createServer((c) => { void session.serve(c); });
    await new Promise<void>((res) => srv.listen(sock, res));
    const client = new grpc.Client(`unix://${sock}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata(); md.add('dir-name', 'context');
    const id = (x: Buffer) => x;
    t = Date.now();
    const r2 = await nullReceiver(client.makeBidiStreamRequest('/moby.filesync.v1.FileSync/DiffCopy', id, id, md) as unknown as Duplex);
    console.log(`grpc unix (chunk ${chunk}): ${r2.files} files ${(r2.bytes / 1048576).toFixed(0)} MiB ${Date.now() - t} ms`);
    client.close(); await session.close(); srv.close();
  }
})();
