/** The README documents every command the CLI has, and no command it does not have. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeProgram } from '../../../src/cli/main';

const t = suite('cli/readme');
const README = fs.readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

t('every command (and sub-command) is in the README; every `stapelkit X` the README names exists', () => {
  const program = makeProgram();
  const names = new Set<string>();
  for (const c of program.commands) {
    names.add(c.name());
    assert.match(README, new RegExp(`\`stapelkit ${c.name()}\\b`), `README documents \`stapelkit ${c.name()}\``);
    for (const sub of c.commands) assert.ok(README.includes(sub.name()), `README mentions ${c.name()} ${sub.name()}`);
  }
  for (const m of README.matchAll(/`stapelkit ([a-z][a-z-]*)/g)) assert.ok(names.has(m[1]), `\`stapelkit ${m[1]}\` is a command`);
});

t('every project option and its werf variable is in the README', () => {
  const { PROJECT_OPTIONS } = require('../../../src/cli/commands/project-options') as typeof import('../../../src/cli/commands/project-options');
  for (const o of PROJECT_OPTIONS) {
    assert.ok(README.includes(`\`${o.flags.split(' ')[0]}`), o.flags);
    if (o.env) assert.ok(README.includes(`\`${o.env}\``), o.env);
  }
});

t.run();
