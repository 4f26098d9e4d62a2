/** startBuild's guess of the project name (the early stages listing is used only when it matches). */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { guessProjectName } from '../../../src/build/early-start';

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

t.run();
