/**
 * werf's shell builder script (buildah backend makeScript): `set -e`, re-exec with bash when the
 * image has it (`_IS_REEXEC` guard), and every command echoed as `$ <cmd>` before it runs.
 * Stapelkit adds one line: WERF_COMMIT_* come from a session-served file, so they reach the commands
 * without entering the LLB (and so BuildKit's cache key) — see CommitEnvDelivery.
 */

export const SCRIPT_DIR = '/.werf/stapelkit';
export const SCRIPT_PATH = `${SCRIPT_DIR}/script.sh`;
export const COMMIT_ENV_PATH = '/.werf/commit-env';
export const COMMIT_ENV_SECRET_ID = 'stapelkit-werf-commit-env';
export const SSH_AUTH_SOCK_PATH = '/.werf/tmp/ssh-auth-sock';

export function makeScript(commands: readonly string[], opts: { sourceCommitEnv?: boolean } = {}): string {
  const lines: string[] = [];
  for (const c of commands) {
    // Single quotes: the echo shows the command as written and never runs its $(…) a second time
    // (a double-quoted echo would expand secrets read by command substitution into the log).
    lines.push(`printf '$ %s\\n' ${shQuote(c)}`);
    lines.push(c);
  }
  const commitEnv = opts.sourceCommitEnv ? `if [ -r ${COMMIT_ENV_PATH} ]; then . ${COMMIT_ENV_PATH}; fi\n\n` : '';
  return `#!/bin/sh

set -e

if [ "x$_IS_REEXEC" = "x" ]; then
\tif type bash >/dev/null 2>&1 ; then
\t\techo "# Using bash to execute commands"
\t\techo
\t\texport _IS_REEXEC="1"
\t\texec bash $0
\telse
\t\techo "# Using /bin/sh to execute commands"
\t\techo
\tfi
fi

${commitEnv}${lines.join('\n')}
`;
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface CommitInfo {
  hash: string;
  /** Go's time.Time.String() of the commit time, e.g. `2022-01-24 17:26:19 +0300 +0300`. */
  timeHuman: string;
  /** Unix seconds, decimal. */
  timeUnix: string;
}

/** Contents of the commit-env secret the session serves (sourced by the script). */
export function commitEnvFile(c: CommitInfo): string {
  return `export WERF_COMMIT_HASH=${shQuote(c.hash)}\nexport WERF_COMMIT_TIME_HUMAN=${shQuote(c.timeHuman)}\nexport WERF_COMMIT_TIME_UNIX=${shQuote(c.timeUnix)}\n`;
}

/** Go's time.Time.String() for a commit time and its UTC offset in minutes: `2006-01-02 15:04:05 -0700 -0700`. */
export function goTimeString(unixSeconds: number, offsetMinutes: number): string {
  const d = new Date((unixSeconds + offsetMinutes * 60) * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const off = `${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
  // Go prints the zone name; for a fixed offset without a name that is the offset again.
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${off} ${off}`;
}
