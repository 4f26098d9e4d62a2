import { makeRepo, removeRepo, writeFiles, git } from '../git/repo';
import { CliGitReader } from '../../../src/git';
const d = makeRepo({ 'README.md': 'x' }, { name: 'proj' });
writeFiles(d, { 'werf.yaml': 'a' });
git(d, 'add', 'werf.yaml');
const r = new CliGitReader(d, {worktree: true});
console.log(r.pathState('werf.yaml'), r.listFiles(), r.readFile('werf.yaml'));
removeRepo(d);
