import * as crypto from 'node:crypto';
import { testEnv } from '../test/integration/harness';
import { Session } from '../src/session';
import { copy, local, marshal, scratch } from '../src/llb';
(async () => {
  const ctx = process.argv[2];
  const env = await testEnv();
  const client = await env.client();
  for (let i = 0; i < Number(process.env.RUNS || 1); i++) {
    const session = new Session({ syncedDirs: { context: { dir: ctx } }, ssh: [], auth: false, sharedKey: crypto.randomBytes(8).toString('hex'), chunkSize: Number(process.env.CHUNK || 32768) });
    const src = local('context', { sessionId: session.id });
    const def = marshal(scratch().file(copy(src, '/', '/')));
    const t0 = Date.now();
    await client.solve({ definition: def, session });
    const total = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 100));
    await session.close();
    console.log(`solve ${total} ms; sync`, JSON.stringify(session.stats.syncs));
  }
  await env.stop();
})();
