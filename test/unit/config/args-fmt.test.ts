/**
 * A Dockerfile image's `args:` values that are lists or mappings are strings the way werf makes them
 * (Go's fmt `%v` of the yaml.v2 value), checked against the Go oracle printing the same YAML.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { defaultGiterminism, parseRendered } from '../../../src/config';
import { COMMIT, ensureOracle, runOracle } from '../../template-oracle/corpus';

const t = suite('config/args-fmt');
const META = 'project: demo\nconfigVersion: 1\n---\n';

const ARGS = {
  LIST: '[1, 2]',
  STRS: '[a, "b c", "", yes]',
  NESTED: '[[1, 2.5], {k: v}, null, 1e3, 0x10, ~]',
  MAP: '{b: 2, a: [x], 10: ten, 9: nine}',
  EMPTY_LIST: '[]',
  EMPTY_MAP: '{}',
};

function ours(): Record<string, string> {
  const yaml = META + 'image: app\ndockerfile: Dockerfile\nargs:\n' + Object.entries(ARGS).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  const m = parseRendered(yaml, (line) => ({ file: 'werf.yaml', line }), {
    commit: { hash: COMMIT.hash, date: COMMIT.date },
    env: '',
    giterminism: { present: false, config: defaultGiterminism() },
    environ: {},
    configFile: 'werf.yaml',
    projectDirName: 'x',
  });
  return (m.images[0] as unknown as { args: Record<string, string> }).args;
}

t('list and mapping args print as Go fmt %v of the yaml.v2 value', () => {
  const got = ours();
  assert.is(got.LIST, '[1 2]');
  assert.is(got.MAP, 'map[9:nine 10:ten a:[x] b:2]');
  const oracle = ensureOracle();
  assert.ok(oracle, 'the Go oracle is needed');
  for (const [k, v] of Object.entries(ARGS)) {
    const go = runOracle(oracle!, {
      file: 'args', name: k, template: `{{ printf "%v" (fromYaml ${JSON.stringify('v: ' + v)}).v }}`,
      partials: {}, files: {}, env: {}, allowEnv: [], loose: false, envName: '', commitTz: 0,
    });
    assert.ok(go.ok, JSON.stringify(go));
    assert.is(got[k], (go as { text: string }).text, `${k}: ${v}`);
  }
});

t.run();
