/** The shared project options: werf's flags, their WERF_* variables and werf's boolean parsing. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_OPTIONS, ProjectFlags, addProjectOptions, projectLoadOptions, werfBool } from '../../../src/cli/commands/project-options';
import { debugRequested } from '../../../src/cli/main';
import { StapelkitError } from '../../../src/errors';

const t = suite('cli/project-options');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-popts-')));
fs.mkdirSync(path.join(tmp, 'proj'));
t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function parse(args: string[]): ProjectFlags {
  let got: ProjectFlags | undefined;
  const program = new Command().exitOverride();
  addProjectOptions(program.command('x')).action((o: ProjectFlags) => {
    got = o;
  });
  program.parse(['node', 'stapelkit', 'x', ...args]);
  return got!;
}

t("booleans are werf's GetBoolEnvironmentDefaultFalse: 1, true, yes", () => {
  for (const v of ['1', 'true', 'yes']) assert.ok(werfBool(v), v);
  for (const v of [undefined, '', '0', 'false', 'no', 'TRUE', 'on', 'y']) assert.not.ok(werfBool(v), String(v));
});

t('every option reads its WERF_* variable when the flag is absent; flags win', () => {
  const environ = {
    WERF_DIR: 'proj',
    WERF_CONFIG: 'proj/ci.yaml',
    WERF_CONFIG_TEMPLATES_DIR: 'proj/tmpl',
    WERF_GITERMINISM_CONFIG: 'g.yaml',
    WERF_ENV: 'prod',
    WERF_DEV: 'yes',
    WERF_LOOSE_GITERMINISM: '1',
    WERF_DEBUG_TEMPLATES: 'true',
  };
  const o = projectLoadOptions(parse([]), environ, tmp);
  assert.equal(
    { dir: o.dir, config: o.config, templatesDir: o.templatesDir, giterminismConfig: o.giterminismConfig, env: o.env, dev: o.dev, loose: o.looseGiterminism, debug: o.debugTemplates },
    { dir: path.join(tmp, 'proj'), config: path.join(tmp, 'proj/ci.yaml'), templatesDir: path.join(tmp, 'proj/tmpl'), giterminismConfig: 'g.yaml', env: 'prod', dev: true, loose: true, debug: true },
  );
  const f = projectLoadOptions(parse(['--dir', '.', '--env', 'stage', '--config', 'werf.yaml']), { ...environ, WERF_DEV: 'no', WERF_LOOSE_GITERMINISM: 'false', WERF_DEBUG_TEMPLATES: '0' }, tmp);
  assert.equal([f.dir, f.env, f.config, f.dev, f.looseGiterminism, f.debugTemplates], [tmp, 'stage', path.join(tmp, 'werf.yaml'), false, false, false]);
  // An empty variable is no value (werf: os.Getenv(...) == "").
  assert.is(projectLoadOptions(parse([]), { WERF_DIR: '', WERF_ENV: '' }, tmp).dir, tmp);
});

t('every option has its werf variable documented in its help, except --config-render-path (none in werf)', () => {
  for (const o of PROJECT_OPTIONS) {
    if (o.key === 'configRenderPath') assert.is(o.env, undefined);
    else assert.ok(o.env && o.description.includes(`$${o.env}`), o.flags);
    assert.not.ok(o.env?.startsWith('STAPELKIT_'), 'werf names for werf options');
  }
});

t('--config-render-path is made absolute against the working directory', () => {
  assert.is(projectLoadOptions(parse(['--config-render-path', 'out/r.yaml']), {}, tmp).configRenderPath, path.join(tmp, 'out/r.yaml'));
});

t('a missing or non-directory project dir is a clear error naming where it came from', () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      if (e instanceof StapelkitError) return e;
      throw e;
    }
    throw new Error('expected an error');
  };
  assert.is(err(() => projectLoadOptions(parse(['--dir', '/nonexistent']), {}, tmp)).format(), 'the project directory "/nonexistent" does not exist (check --dir)');
  assert.is(err(() => projectLoadOptions(parse([]), { WERF_DIR: 'nope' }, tmp)).format(), `the project directory "${tmp}/nope" does not exist (check $WERF_DIR)`);
  fs.writeFileSync(path.join(tmp, 'file'), '');
  assert.is(err(() => projectLoadOptions(parse(['--dir', 'file']), {}, tmp)).format(), `the project directory "${tmp}/file" is not a directory (check --dir)`);
});

t('--debug, --log-debug or WERF_LOG_DEBUG turn on debug output', () => {
  assert.ok(debugRequested(['node', 's', '--log-debug'], {}));
  assert.ok(debugRequested(['node', 's', '--debug'], {}));
  assert.ok(debugRequested(['node', 's'], { WERF_LOG_DEBUG: 'yes' }));
  assert.not.ok(debugRequested(['node', 's'], { WERF_LOG_DEBUG: 'false' }));
});

t.run();
