/** startBuild's guess of the project name (the early stages listing is used only when it matches). */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { earlyDockerd, guessProjectName } from '../../../src/build/early-start';

const t = suite('build/early-start');

function dirWith(files: Record<string, string>): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-early-'));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(d, f), text);
  return d;
}

t('a plain project name in werf.yaml, werf.yml or the --config file', () => {
  const cases: Array<[Record<string, string>, string | undefined, string | undefined]> = [
    [{ 'werf.yaml': 'project: app\nconfigVersion: 1\n' }, undefined, 'app'],
    [{ 'werf.yaml': '# c\nconfigVersion: 1\nproject: "my-app"   # quoted\n' }, undefined, 'my-app'],
    [{ 'werf.yml': "project: 'x.y_z'\n" }, undefined, 'x.y_z'],
    [{ 'other.yaml': 'project: other\n', 'werf.yaml': 'project: app\n' }, 'other.yaml', 'other'],
    // Templated or absent: no guess (the listing starts after the render).
    [{ 'werf.yaml': 'project: {{ env "P" }}\n' }, undefined, undefined],
    [{ 'werf.yaml': 'configVersion: 1\n' }, undefined, undefined],
    [{}, undefined, undefined],
    [{ 'werf.yaml': 'project: "unbalanced\n' }, undefined, undefined],
  ];
  for (const [files, config, want] of cases) {
    const d = dirWith(files);
    try {
      assert.is(guessProjectName(d, config), want, JSON.stringify(files));
      if (config) assert.is(guessProjectName(d, path.join(d, config)), want, 'an absolute --config');
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }
});

t('the early listing asks only a dockerd that connect() picks without probing', () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-early-'));
  const sockets = { buildkitd: path.join(d, 'buildkitd.sock'), docker: path.join(d, 'docker.sock') };
  try {
    const text = (addr: string | undefined, env: NodeJS.ProcessEnv = {}) => earlyDockerd(addr, env, sockets)?.text;
    assert.is(text('docker://unix:///x/docker.sock'), 'docker://unix:///x/docker.sock');
    assert.is(text('unix:///run/buildkit/buildkitd.sock'), undefined, 'a buildkitd has no image store listing');
    assert.is(text('nonsense://x'), undefined, 'a bad address is connect()\'s to report');
    // The flag first, then BUILDKIT_HOST, then DOCKER_HOST, as resolveAddress.
    assert.is(text('docker://unix:///a.sock', { BUILDKIT_HOST: 'docker://unix:///b.sock' }), 'docker://unix:///a.sock');
    assert.is(text(undefined, { BUILDKIT_HOST: 'tcp://h:1234', DOCKER_HOST: 'unix:///c.sock' }), undefined);
    assert.is(earlyDockerd(undefined, { DOCKER_HOST: 'unix:///c.sock' }, sockets)?.kind, 'dockerd');
    // No address: the default docker socket only when no default buildkitd socket is there.
    assert.is(text(undefined), undefined, 'no socket at all');
    fs.writeFileSync(sockets.docker, '');
    assert.is(text(undefined), `docker://unix://${sockets.docker}`);
    fs.writeFileSync(sockets.buildkitd, '');
    assert.is(text(undefined), undefined, 'a buildkitd socket is probed first');
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

t.run();
