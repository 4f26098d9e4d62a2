/**
 * The fast YAML path (src/config/fastyaml.ts) against the `yaml` package: whenever it takes a
 * document, it must build the nodes the package builds (values, source text, scalar types, start
 * offsets, line starts); everything else it must decline. Checked on hand-written cases, on every
 * werf.yaml document of the test fixtures, and on seeded mutations of those.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { splitDocuments } from '../../../src/config/split';
import { fastPathDifference } from './fastyaml-compare';

const t = suite('config/fastyaml');

const TAKEN = [
  'image: app\nfrom: alpine:3.18\n',
  'image: img7\nfromImage: img6\ngit:\n- add: /src/i7\n  to: /app7\nshell:\n  install:\n  - echo install 7 > /install7\n  setup:\n  - echo setup 7\n',
  'project: demo\nconfigVersion: 1\n',
  'image:  app\nfrom:   alpine\n',
  'a: yes\nb: on\nc: 0777\nd: 1.50\ne: ~\nf: null\ng: 2001-12-14\nh: .inf\ni: 0x1F\nj: 1_000\nk: 190:20:30\nl: NO\n',
  "a: 'it''s'\nb: \"x y\"\nc: ''\nd: \"\"\n",
  'a:\nb:   \nc: x\n',
  'list:\n-\n- x\n-   \n',
  '# leading comment\na: b   \n\n   \n# between\nc:\n  # inside\n  d: e\n',
  'a:\n  - x\n  - k: 1\n    l: 2\n  -\n    w: 3\nb: c\n',
  'a:\n- x\n- y\nb: c\n',
  'shell:\n  install:\n  - apt-get install -y curl=7.* && echo "done"\n  - echo a:b#notacomment\n',
  'image: ünïcode\nx: 日本語\n',
  '  indented: doc\n  second: key\n',
  'imageSpec:\n  config:\n    cmd: ["/app/hello.sh"]\n    entrypoint: [/bin/sh, -c, \'echo it\'\'s\', "x y"]\n',
  'a: []\nb: [  ]\nc: [1, yes, ~, 0x1F]\nd: [ a ,b,  c ]\n',
  'l:\n- [a, b]\n- ["x"]\n',
  'a: x\n', // no trailing newline below
  'a: x',
];

const DECLINED = [
  'a: &x 1\nb: *x\n',
  'a: !!str 1\n',
  'a: [1, [2]]\n',
  'a: [1, {b: c}]\n',
  'a: [1, 2,]\n',
  'a: [1,, 2]\n',
  'a: [b: c]\n',
  'a: [1, 2] # comment\n',
  'a: [x]y\n',
  'a: ["esc\\"", b]\n',
  'a: [1, 2\n',
  'a: [x #y]\n',
  'a: {b: c}\n',
  'a: |\n  text\n',
  'a: >\n  text\n',
  'a: b # comment\n',
  'a: multi\n  line\n',
  'a: "esc\\n"\n',
  'a: "open\n  close"\n',
  'a: 1\na: 2\n',
  '<<: {a: 1}\n',
  'a:\tb\n',
  'a: b\r\n',
  '"quoted key": v\n',
  '? complex\n: key\n',
  '- - nested\n',
  'a:\u00a0b\n',
  'a: b\n\u00a0\n',
  'plain scalar document\n',
  '%YAML 1.1\n---\na: b\n',
  'a: b\n...\n',
  'a: b: c\n',
  'a:b\n',
  'y: yes-key\n',
];

t('plain block documents are taken and equal the package', () => {
  for (const text of TAKEN) {
    const r = fastPathDifference(text);
    assert.ok(r.taken, `not taken: ${JSON.stringify(text)}`);
    assert.is(r.diff, undefined, `${JSON.stringify(text)}: ${r.diff}`);
  }
});

t('anything else is declined (the package parses it)', () => {
  for (const text of DECLINED) {
    const r = fastPathDifference(text);
    assert.not.ok(r.taken, `taken: ${JSON.stringify(text)}`);
  }
});

function fixtureDocs(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^werf.*\.ya?ml$/.test(e.name)) for (const d of splitDocuments(fs.readFileSync(p, 'utf8'))) out.push(d.text);
    }
  };
  walk(path.resolve(__dirname, '../../fixtures'));
  return [...new Set(out)];
}

t('every fixture document: taken ones equal the package', () => {
  const docs = fixtureDocs();
  assert.ok(docs.length > 50, `only ${docs.length} fixture documents`);
  let taken = 0;
  for (const text of docs) {
    const r = fastPathDifference(text);
    if (r.taken) taken++;
    assert.is(r.diff, undefined, `${JSON.stringify(text)}: ${r.diff}`);
  }
  assert.ok(taken > docs.length / 4, `the fast path took only ${taken} of ${docs.length} fixture documents`);
});

t('seeded mutations of the fixture documents: taken ones equal the package', () => {
  const CHARS = " :-#'\"\n\nab01&*!|>[]{}~?,%@`\\.yY<\u00a0";
  let seed = 20261202;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let taken = 0;
  for (const base of fixtureDocs().filter((d) => d.length < 2000)) {
    for (let k = 0; k < 8; k++) {
      let text = base;
      for (let m = 0, n = 1 + rnd(3); m < n; m++) {
        const p = rnd(text.length + 1);
        const c = CHARS[rnd(CHARS.length)];
        const op = rnd(3);
        text = op === 0 ? text.slice(0, p) + c + text.slice(p) : op === 1 ? text.slice(0, p) + text.slice(p + 1) : text.slice(0, p) + c + text.slice(p + 1);
      }
      const r = fastPathDifference(text);
      if (r.taken) taken++;
      assert.is(r.diff, undefined, `${JSON.stringify(text)}: ${r.diff}`);
    }
  }
  assert.ok(taken > 100, `only ${taken} mutants taken`);
});

t.run();
