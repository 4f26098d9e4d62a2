/** `.Commit.Date.*` come from the AUTHOR time of HEAD in the author's own offset, as werf (go-git's Author.When). */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { spawnSync } from 'node:child_process';
import { renderProject } from '../../../src/project';
import { makeRepo, removeRepo } from '../git/repo';

test('.Commit.Date.Human/.Unix use the author time and offset, not the committer time', () => {
  const dir = makeRepo({ 'werf.yaml': 'project: p\nconfigVersion: 1\n# {{ .Commit.Date.Human }} | {{ .Commit.Date.Unix }} | {{ len .Commit.Hash }}\n' });
  try {
    // Re-commit with a different committer date: only the author date (2024-01-02T03:04:05+03:00) must show.
    const r = spawnSync('git', ['commit', '--amend', '-q', '--no-edit'], {
      cwd: dir,
      env: { ...process.env, GIT_COMMITTER_NAME: 'C', GIT_COMMITTER_EMAIL: 'c@example.com', GIT_COMMITTER_DATE: '2025-06-07T08:09:10-0130', GIT_CONFIG_NOSYSTEM: '1' },
    });
    assert.is(r.status, 0, r.stderr.toString());
    const out = renderProject({ dir, environ: {}, env: '' });
    assert.match(out.rendered.text, '# 2024-01-02 03:04:05 +0300 +0300 | 1704153845 | 40\n');
  } finally {
    removeRepo(dir);
  }
});

test.run();
