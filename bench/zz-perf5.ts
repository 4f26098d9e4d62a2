import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { testEnv } from '../test/integration/harness';
(async () => {
  const ctx = process.argv[2];
  const env = await testEnv();
  fs.writeFileSync('/tmp/skt-df', 'FROM scratch\nCOPY . /\n');
  const denv = { ...process.env, DOCKER_HOST: `unix://${env.dockerSocket}`, DOCKER_BUILDKIT: '1' };
  for (let i = 0; i < Number(process.env.RUNS || 1); i++) {
    spawnSync('/usr/bin/docker', ['builder', 'prune', '-af'], { env: denv });
    const t0 = Date.now();
    const r = spawnSync('/usr/bin/docker', ['build', '--progress=plain', '-f', '/tmp/skt-df', ctx], { env: denv, encoding: 'utf8' });
    console.log(`docker build ${Date.now() - t0} ms`, r.status, (r.stderr + r.stdout).split('\n').filter((l) => /transferring context|DONE|COPY/.test(l)).join('\n'));
  }
  await env.stop();
})();
