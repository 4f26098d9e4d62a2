import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { testEnv } from '../test/integration/harness';
import { Session } from '../src/session';
import { attachDockerSession } from '../src/session/dockerd';
import { copy, local, marshal, scratch } from '../src/llb';
function cpu(pid: number): number { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; }
function ctr(pid: number): number { let t = 0; for (const p of fs.readdirSync('/proc')) { if (!/^\d+$/.test(p)) continue; try { const c = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8'); if (c.includes('containerd') || c.includes('dockerd')) t += cpu(Number(p)); } catch {} } return t; }
(async () => {
  const env = await testEnv();
  const client = await env.client();
  fs.writeFileSync('/tmp/skt-df', 'FROM scratch\nCOPY . /\n');
  const denv = { ...process.env, DOCKER_HOST: `unix://${env.dockerSocket}`, DOCKER_BUILDKIT: '1' };
  for (const ctx of process.argv.slice(2)) {
    spawnSync('/usr/bin/docker', ['builder', 'prune', '-af'], { env: denv });
    let c0 = ctr(0);
    let t0 = Date.now();
    const r = spawnSync('/usr/bin/docker', ['build', '--progress=plain', '-f', '/tmp/skt-df', ctx], { env: denv, encoding: 'utf8' });
    console.log(ctx, `docker build ${Date.now() - t0} ms daemon cpu ${ctr(0) - c0} ms`, (r.stderr + r.stdout).split('\n').filter((l) => /transferring context.*done/.test(l)).join(' | '));
    spawnSync('/usr/bin/docker', ['builder', 'prune', '-af'], { env: denv });
    for (const mode of (process.env.MODES || 'session,control').split(',')) {
      const session = new Session({ syncedDirs: { context: { dir: ctx } }, ssh: [], auth: false, sharedKey: crypto.randomBytes(8).toString('hex'), chunkSize: Number(process.env.CHUNK || 32768) });
      const att = mode === 'session' ? await attachDockerSession(session, { socketPath: env.dockerSocket }) : undefined;
      const def = marshal(scratch().file(copy(local('context', { sessionId: session.id }), '/', '/')));
      c0 = ctr(0);
      t0 = Date.now();
      await client.solve({ definition: def, session: att ? session.id : session });
      const total = Date.now() - t0;
      const dc = ctr(0) - c0;
      await new Promise((r) => setTimeout(r, 100));
      await att?.close();
      await session.close();
      console.log(ctx, mode, `solve ${total} ms daemon cpu ${dc} ms; sync`, JSON.stringify(session.stats.syncs));
      spawnSync('/usr/bin/docker', ['builder', 'prune', '-af'], { env: denv });
    }
  }
  await env.stop();
})();
