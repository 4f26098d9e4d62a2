/**
 * Giterminism: werf.yaml, templates and werf-giterminism.yaml come from the HEAD commit (tracked
 * work-tree files with --dev); `.Files` sees committed files plus allowed uncommitted ones; env
 * names, fromLatest, git branches, mounts, secrets and contextAddFiles need explicit allowances.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RenderWerfOptions, Renderer, defaultRenderer, parseGiterminism, plainRenderer } from '../../../src/config';
import { LoadOptions, loadProject } from '../../../src/project';
import { StapelkitError } from '../../../src/errors';
import { git, makeRepo, removeRepo, writeFiles } from '../git/repo';

const t = suite('config/giterminism');
const META = 'project: demo\nconfigVersion: 1\n---\n';
const repos: string[] = [];

function repo(files: Record<string, string>): string {
  const d = makeRepo(files, { name: 'proj' });
  repos.push(d);
  return d;
}
t.after.each(() => {
  while (repos.length) removeRepo(repos.pop()!);
});

function load(dir: string, opts: Partial<LoadOptions> = {}) {
  return loadProject({ dir, render: plainRenderer, environ: {}, env: '', ...opts });
}

function errorOf(fn: () => unknown): StapelkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected a StapelkitError');
}


t('uncommitted changes in werf.yaml are refused without --dev', () => {
  const d = repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\n' });
  fs.writeFileSync(path.join(d, 'werf.yaml'), META + 'image: app\nfrom: ubuntu\n');
  const e = errorOf(() => load(d));
  assert.is(e.message, 'the file "werf.yaml" must be committed');
  assert.is(e.hint, 'to allow it, add `config.allowUncommitted: true` to werf-giterminism.yaml');
  // --dev reads tracked files from the work tree.
  const m = load(d, { dev: true }).model;
  assert.equal((m.images[0] as { base: unknown }).base, { type: 'external', ref: 'ubuntu', pos: { file: 'werf.yaml', line: 5, column: 7 } });
});

t('untracked werf.yaml: must be committed; with --dev must be staged; staged works with --dev', () => {
  const d = repo({ 'README.md': 'x' });
  writeFiles(d, { 'werf.yaml': META + 'image: app\nfrom: alpine\n' });
  assert.is(errorOf(() => load(d)).message, 'the untracked file "werf.yaml" must be committed');
  assert.is(errorOf(() => load(d, { dev: true })).message, 'the untracked file "werf.yaml" must be staged');
  git(d, 'add', 'werf.yaml');
  assert.is(load(d, { dev: true }).model.images[0].name, 'app');
  assert.is(errorOf(() => load(d)).message, 'the file "werf.yaml" must be committed');
});

t('config.allowUncommitted lets werf.yaml come from disk', () => {
  const d = repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\n', 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  allowUncommitted: true\n' });
  fs.writeFileSync(path.join(d, 'werf.yaml'), META + 'image: changed\nfrom: alpine\n');
  assert.is(load(d).model.images[0].name, 'changed');
});

t('werf-giterminism.yaml must itself be committed', () => {
  const d = repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\nfromLatest: true\n' });
  writeFiles(d, { 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  stapel:\n    allowFromLatest: true\n' });
  assert.is(errorOf(() => load(d)).message, 'the untracked file "werf-giterminism.yaml" must be committed');
  git(d, 'add', '-A');
  git(d, 'commit', '-q', '-m', 'g');
  assert.ok(load(d).model.giterminism.config.config.stapel.allowFromLatest);
});

t('werf.yml is found when werf.yaml is absent; --config picks another file; none → error', () => {
  const d = repo({ 'werf.yml': META + 'image: yml\nfrom: alpine\n', 'ci/other.yaml': META + 'image: other\nfrom: alpine\n' });
  assert.is(load(d).model.images[0].name, 'yml');
  const m = load(d, { config: 'ci/other.yaml' }).model;
  assert.is(m.images[0].name, 'other');
  assert.is(m.images[0].pos.file, 'ci/other.yaml');
  const e = errorOf(() => load(d, { config: 'nope.yaml' }));
  assert.is(e.code, 'CONFIG_NOT_FOUND');
});

t('templates: untracked .tmpl refused unless allowUncommittedTemplates; committed ones are passed by name', () => {
  const d = repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\n', '.werf/partials/a.tmpl': '{{ define "a" }}x{{ end }}' });
  writeFiles(d, { '.werf/new.tmpl': '{{ define "n" }}{{ end }}' });
  writeFiles(d, { '.werf/.gitignore': 'ignored.tmpl\n', '.werf/ignored.tmpl': '{{ define "i" }}{{ end }}' });
  const e = errorOf(() => load(d));
  assert.is(e.message, 'the untracked file ".werf/new.tmpl" must be committed');
  let seen: RenderWerfOptions | undefined;
  const capture: Renderer = (o) => {
    seen = o;
    return plainRenderer(o);
  };
  fs.writeFileSync(path.join(d, 'werf-giterminism.yaml'), 'giterminismConfigVersion: 1\nconfig:\n  allowUncommittedTemplates: [".werf/new.tmpl"]\n');
  git(d, 'add', 'werf-giterminism.yaml', '.werf/.gitignore');
  git(d, 'commit', '-q', '-m', 'g');
  load(d, { render: capture });
  assert.equal(seen!.templates.map((x) => x.name), ['new.tmpl', 'partials/a.tmpl']);
  assert.is(seen!.main.name, 'werf.yaml');
});

t('env gate: exact names and /regex/ from goTemplateRendering.allowEnvVariables', () => {
  const d = repo({
    'werf.yaml': META + 'image: app\nfrom: alpine\n',
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [HOME_DIR, /CI_.*/]\n',
  });
  let seen: RenderWerfOptions | undefined;
  load(d, {
    environ: { CI_COMMIT_SHA: 'abc', WERF_ENV: 'staging' },
    env: undefined,
    render: (o) => {
      seen = o;
      return plainRenderer(o);
    },
  });
  assert.ok(seen!.allowEnv('HOME_DIR'));
  assert.ok(seen!.allowEnv('CI_COMMIT_SHA'));
  assert.not.ok(seen!.allowEnv('XCI_COMMIT_SHA'));
  assert.not.ok(seen!.allowEnv('HOME_DIR2'));
  assert.is(seen!.lookupEnv('CI_COMMIT_SHA'), 'abc');
  assert.is(seen!.envName, 'staging');
  assert.is(seen!.commit.hash.length, 40);
  let loose: RenderWerfOptions | undefined;
  load(d, { looseGiterminism: true, render: (o) => ((loose = o), plainRenderer(o)) });
  assert.ok(loose!.allowEnv('ANYTHING'));
});

t('.Files: committed files only, uncommitted ones via allowUncommittedFiles, paths relative to the project dir', () => {
  const root = repo({
    'outside.txt': 'o',
    'p/werf.yaml': META + 'image: app\nfrom: alpine\n',
    'p/conf/a.conf': 'A',
    'p/conf/b.conf': 'B',
    'p/conf/sub/c.conf': 'C',
    'p/werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowUncommittedFiles: ["local/*"]\n',
  });
  writeFiles(root, { 'p/untracked.txt': 'u', 'p/local/dev.env': 'D' });
  fs.writeFileSync(path.join(root, 'p/conf/b.conf'), 'B-modified');
  let files: RenderWerfOptions['files'] | undefined;
  load(path.join(root, 'p'), { render: (o) => ((files = o.files), plainRenderer(o)) });
  const f = files!;
  assert.is(f.get('conf/a.conf').toString(), 'A');
  assert.is(f.get('./conf/a.conf').toString(), 'A');
  assert.equal(f.glob('conf/{a,sub/c}.conf'), { 'conf/a.conf': Buffer.from('A'), 'conf/sub/c.conf': Buffer.from('C') });
  assert.equal(f.glob('conf/*.none'), {});
  // A matched file with uncommitted changes is refused like .Files.Get.
  assert.is(errorOf(() => f.glob('conf/*.conf')).message, 'the file "conf/b.conf" must be committed');
  assert.ok(f.exists('conf/sub/c.conf'));
  assert.ok(f.isDir('conf/sub'));
  assert.not.ok(f.isDir('conf/a.conf'));
  assert.not.ok(f.exists('untracked.txt'));
  assert.not.ok(f.exists('nothing'));
  assert.is(errorOf(() => f.get('untracked.txt')).message, 'the untracked file "untracked.txt" must be committed');
  assert.is(errorOf(() => f.get('missing.txt')).message.includes('not found in the project git repository'), true);
  // `..` is no giterminism matter: the message names it and suggests no werf-giterminism.yaml key.
  const outside = errorOf(() => f.get('../../etc/x'));
  assert.is(outside.message, '{{ .Files.Get "../../etc/x" }}: the path leads outside the project directory through ".."; .Files reads only files of the project directory');
  assert.is(outside.hint, undefined);
  assert.is(f.get('local/dev.env').toString(), 'D');
  assert.ok(f.exists('local/dev.env'));
  assert.ok(f.isDir('local'));
  assert.equal(Object.keys(f.glob('**/*.env')), ['local/dev.env']);
  assert.is(errorOf(() => f.get('conf/b.conf')).message, 'the file "conf/b.conf" must be committed');
});

function stapel(body: string) {
  return { 'werf.yaml': META + 'image: app\nfrom: alpine\n' + body };
}
function withGiterminism(files: Record<string, string>, g: string) {
  return { ...files, 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\n' + g };
}

t('fromLatest needs config.stapel.allowFromLatest', () => {
  const e = errorOf(() => load(repo(stapel('fromLatest: true\n'))));
  assert.is(e.code, 'GITERMINISM');
  assert.is(
    e.format().split(' (')[0],
    'werf.yaml:5:7: image "app" → fromLatest: the configuration with potential external dependency found in the werf config: fromLatest directive not allowed by giterminism',
  );
  assert.is(e.hint, 'to allow it, add `config.stapel.allowFromLatest: true` to werf-giterminism.yaml');
  assert.ok(load(repo(withGiterminism(stapel('fromLatest: true\n'), 'config:\n  stapel:\n    allowFromLatest: true\n'))).model);
  assert.ok(load(repo(stapel('fromLatest: true\n')), { looseGiterminism: true }).model);
});

t('remote git branch (explicit or default) needs allowBranch; tag and commit do not', () => {
  const branch = stapel('git:\n- url: https://example.com/r.git\n  branch: main\n  to: /r\n');
  const def = stapel('git:\n- url: https://example.com/r.git\n  to: /r\n');
  const tag = stapel('git:\n- url: https://example.com/r.git\n  tag: v1\n  to: /r\n');
  assert.ok(errorOf(() => load(repo(branch))).message.endsWith('git branch directive not allowed by giterminism'));
  assert.is(errorOf(() => load(repo(branch))).hint, 'to allow it, add `config.stapel.git.allowBranch: true` to werf-giterminism.yaml');
  const e = errorOf(() => load(repo(def)));
  // No ref follows the default branch: refused like a branch, but not called a "branch directive".
  assert.ok(e.message.endsWith('remote git mapping without `commit` or `tag` (it follows the default branch) not allowed by giterminism'), e.message);
  assert.is(e.hint, 'to allow it, add `config.stapel.git.allowBranch: true` to werf-giterminism.yaml');
  assert.is(e.pos!.keyPath, 'image "app" → git[0]');
  assert.is(e.pos!.line, 7);
  assert.ok(load(repo(tag)).model);
  assert.ok(load(repo(withGiterminism(branch, 'config:\n  stapel:\n    git:\n      allowBranch: true\n'))).model);
});

t('mounts: build_dir and fromPath need allowances', () => {
  const bd = stapel('mount:\n- from: build_dir\n  to: /cache\n');
  assert.ok(errorOf(() => load(repo(bd))).message.endsWith('"mount { from: build_dir, ... }" not allowed by giterminism'));
  assert.is(errorOf(() => load(repo(bd))).hint, 'to allow it, add `config.stapel.mount.allowBuildDir: true` to werf-giterminism.yaml');
  assert.ok(load(repo(withGiterminism(bd, 'config:\n  stapel:\n    mount:\n      allowBuildDir: true\n'))).model);
  assert.ok(load(repo(stapel('mount:\n- from: tmp_dir\n  to: /cache\n'))).model);
  const fp = stapel('mount:\n- fromPath: /var/cache/pkgs\n  to: /cache\n');
  assert.ok(errorOf(() => load(repo(fp))).message.endsWith('"mount { fromPath: /var/cache/pkgs, ... }" not allowed by giterminism'));
  assert.is(errorOf(() => load(repo(fp))).hint, 'to allow it, add `config.stapel.mount.allowFromPaths: [/var/cache/pkgs]` to werf-giterminism.yaml');
  assert.ok(load(repo(withGiterminism(fp, 'config:\n  stapel:\n    mount:\n      allowFromPaths: [/var/cache/*]\n'))).model);
  assert.ok(errorOf(() => load(repo(withGiterminism(fp, 'config:\n  stapel:\n    mount:\n      allowFromPaths: [/var/lib/*]\n')))).message.includes('fromPath'));
});

t('secrets: env names, files and value ids need allowances', () => {
  const s = stapel('secrets:\n- env: TOKEN\n- src: /etc/creds/npmrc\n- id: pw\n  value: hunter2\n');
  assert.ok(errorOf(() => load(repo(s))).message.endsWith('secret "TOKEN" is not allowed by giterminism'));
  assert.is(errorOf(() => load(repo(s))).hint, 'to allow it, add `config.secrets.allowEnvVariables: [TOKEN]` to werf-giterminism.yaml');
  const g1 = 'config:\n  secrets:\n    allowEnvVariables: [TOKEN]\n';
  assert.ok(errorOf(() => load(repo(withGiterminism(s, g1)))).message.endsWith('secret "/etc/creds/npmrc" is not allowed by giterminism'));
  const g2 = g1 + '    allowFiles: [/etc/creds/*]\n';
  const e = errorOf(() => load(repo(withGiterminism(s, g2))));
  assert.ok(e.message.endsWith('secret "pw" is not allowed by giterminism'));
  assert.is(e.hint, 'to allow it, add `config.secrets.allowValueIds: [pw]` to werf-giterminism.yaml');
  assert.is(errorOf(() => load(repo(withGiterminism(s, g1)))).hint, 'to allow it, add `config.secrets.allowFiles: [/etc/creds/npmrc]` to werf-giterminism.yaml');
  assert.is(e.pos!.keyPath, 'image "app" → secrets[2].value');
  assert.ok(load(repo(withGiterminism(s, g2 + '    allowValueIds: [pw]\n'))).model);
});

t('contextAddFiles are matched with the context prefix', () => {
  const files = { 'werf.yaml': META + 'image: app\ndockerfile: Dockerfile\ncontext: app\ncontextAddFiles: [gen/, secret.env]\n' };
  assert.ok(errorOf(() => load(repo(files))).message.endsWith('contextAddFile "app/gen" not allowed by giterminism'));
  assert.is(errorOf(() => load(repo(files))).hint, 'to allow it, add `config.dockerfile.allowContextAddFiles: [app/gen]` to werf-giterminism.yaml');
  assert.ok(errorOf(() => load(repo(withGiterminism(files, 'config:\n  dockerfile:\n    allowContextAddFiles: [app/gen/]\n')))).message.endsWith('contextAddFile "app/secret.env" not allowed by giterminism'));
  assert.ok(load(repo(withGiterminism(files, 'config:\n  dockerfile:\n    allowContextAddFiles: [app/gen/, "app/*.env"]\n'))).model);
});

t('template refusals name their allow-list: env names, uncommitted templates, uncommitted .Files', () => {
  const env = errorOf(() => load(repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\nshell:\n  install: echo {{ env "SECRET_X" }}\n' }), { render: defaultRenderer() }));
  assert.is(env.code, 'TEMPLATE_ENV');
  assert.match(env.message, /env name 'SECRET_X' not allowed$/);
  assert.is(env.hint, 'to allow it, add `config.goTemplateRendering.allowEnvVariables: [SECRET_X]` to werf-giterminism.yaml');
  const d = repo({ 'werf.yaml': META + 'image: app\nfrom: alpine\nshell:\n  install: echo {{ .Files.Get "local.txt" }}\n' });
  writeFiles(d, { 'local.txt': 'x', '.werf/new.tmpl': '{{ define "x" }}{{ end }}' });
  const tmpl = errorOf(() => load(d, { render: defaultRenderer() }));
  assert.is(tmpl.hint, 'to allow it, add `config.allowUncommittedTemplates: [.werf/new.tmpl]` to werf-giterminism.yaml');
  fs.rmSync(path.join(d, '.werf'), { recursive: true });
  const file = errorOf(() => load(d, { render: defaultRenderer() }));
  assert.match(file.message, /the untracked file "local\.txt" must be committed$/);
  assert.is(file.hint, 'to allow it, add `config.goTemplateRendering.allowUncommittedFiles: [local.txt]` to werf-giterminism.yaml');
});

t('parseGiterminism: version required, unknown keys tolerated, known keys typed', () => {
  assert.is(errorOf(() => parseGiterminism('config: {}\n', 'werf-giterminism.yaml')).message, '`giterminismConfigVersion: 1` required');
  assert.is(errorOf(() => parseGiterminism('giterminismConfigVersion: 2\n', 'g.yaml')).message, 'unsupported giterminismConfigVersion "2": expected 1');
  const c = parseGiterminism('giterminismConfigVersion: "1"\nsomethingNew: {a: 1}\nconfig:\n  stapel:\n    futureKey: x\n    allowFromLatest: true\n', 'g.yaml');
  assert.ok(c.config.stapel.allowFromLatest);
  const e = errorOf(() => parseGiterminism('giterminismConfigVersion: 1\nconfig:\n  stapel:\n    allowFromLatest: sometimes\n', 'g.yaml'));
  assert.is(e.format(), 'g.yaml:4:22: giterminism → config.stapel.allowFromLatest: expected a boolean (true or false), got a string ("sometimes")');
  assert.is(errorOf(() => parseGiterminism('giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: ["/([/"]\n', 'g.yaml')).code, 'GITERMINISM');
  assert.match(errorOf(() => parseGiterminism('giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: ["/a(/"]\n', 'g.yaml')).message, /error parsing regexp: missing closing \)/);
});

t('env gate regexes are Go regexps spliced into ^…$ as werf does', () => {
  const d = repo({
    'werf.yaml': META + 'image: app\nfrom: alpine\n',
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: ["/A|B/", "/\\\\pLx/"]\n',
  });
  let seen: RenderWerfOptions | undefined;
  load(d, { environ: {}, env: undefined, render: (o) => ((seen = o), plainRenderer(o)) });
  // ^A|B$: A anchored at the start only, B at the end only.
  assert.ok(seen!.allowEnv('A_ANYTHING') && seen!.allowEnv('X_B'));
  assert.not.ok(seen!.allowEnv('X_A'));
  // \pL: Go's letter class.
  assert.ok(seen!.allowEnv('Qx'));
});

t.run();
