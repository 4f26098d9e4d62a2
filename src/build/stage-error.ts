/**
 * A failing user stage runs werf's script (`sh /.werf/stapelkit/script.sh`); people want the command
 * of theirs that failed. The script echoes `$ <command>` before each one, so the last such log line
 * names it.
 */
import { BuildError } from '../buildkit/build-error';
import { SCRIPT_PATH } from '../stages';

export function userCommandError(e: unknown): unknown {
  if (!(e instanceof BuildError) || !e.command || !e.command.includes(SCRIPT_PATH)) return e;
  const echoed = [...e.logTail].reverse().find((l) => l.startsWith('$ '));
  if (!echoed) return e;
  const user = echoed.slice(2);
  const message = e.message.replace(`command '${e.command}'`, `command '${user.length > 80 ? `${user.slice(0, 79)}…` : user}'`);
  return new BuildError(message, e.vertex, e.vertexName, user, e.exitCode, e.logTail, e.grpcMessage, { pos: e.pos, hint: e.hint, cause: e });
}
