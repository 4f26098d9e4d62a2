/** Small helpers for the session integration tests (not a test file). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTar, type TarReadEntry } from '../../src/buildkit/tar';

/** The entries of a tar stream (exporter output, `docker save`), named without a leading "./". */
export function readTarEntries(buf: Buffer): (TarReadEntry & { name: string })[] {
  return readTar(buf).map((e) => ({ ...e, name: e.path.replace(/^\.\//, '') }));
}

/** Polls `cond` until true or the timeout passes (session callbacks may land just after Solve returns). */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** An ssh-agent on its own socket in `dir`, holding one fresh ed25519 key whose comment is `keyComment`. */
export async function startSshAgent(dir: string, keyComment: string): Promise<{ sock: string; agent: ChildProcess; keyComment: string }> {
  const sock = path.join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  if (!(await waitFor(() => fs.existsSync(sock), 5000))) {
    agent.kill();
    throw new Error('ssh-agent did not create its socket');
  }
  const key = path.join(dir, 'id_ed25519');
  const kg = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', keyComment, '-f', key], { encoding: 'utf8' });
  const add = kg.status === 0 ? spawnSync('ssh-add', [key], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: sock } }) : undefined;
  if (kg.status !== 0 || add?.status !== 0) {
    agent.kill();
    throw new Error(kg.status !== 0 ? `ssh-keygen failed: ${kg.stderr}` : `ssh-add failed: ${add?.stderr}`);
  }
  return { sock, agent, keyComment };
}
