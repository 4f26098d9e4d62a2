/**
 * `stapelkit daemon status|start|stop`: the embedded default daemon, the private dockerd Stapelkit
 * starts under $XDG_STATE_HOME/stapelkit when no other daemon is given or found.
 */
import { Command } from 'commander';
import { embeddedDockerdStatus, ensureEmbeddedDockerd, removeStateDir, stopEmbeddedDockerd, type EmbeddedStatus } from '../../daemon/dockerd';

/** Human lines for `daemon status` (pure). */
export function formatStatus(s: EmbeddedStatus): string[] {
  const state = s.answering ? `running (pid ${s.pid})` : s.alive ? `not answering (pid ${s.pid} is alive; see ${s.logFile})` : s.pid ? `not running (stale pidfile, pid ${s.pid})` : 'not running';
  return [`embedded dockerd: ${state}`, `socket: unix://${s.socketPath}`, `address: ${s.addr}`, `state dir: ${s.stateDir}`, ...(s.bridge ? [`bridge: ${s.bridge}`] : [])];
}

export function register(program: Command): void {
  const daemon = program.command('daemon').description("manage Stapelkit's embedded default dockerd (under $XDG_STATE_HOME/stapelkit)");
  const print = (lines: string[]) => process.stdout.write(lines.map((l) => `${l}\n`).join(''));

  daemon
    .command('status')
    .description('show whether the embedded dockerd runs, its socket, pid and state dir')
    .action(async () => {
      print(formatStatus(await embeddedDockerdStatus()));
    });

  daemon
    .command('start')
    .description('start the embedded dockerd (or reuse the running one)')
    .action(async () => {
      await ensureEmbeddedDockerd((line) => process.stderr.write(`${line}\n`));
      print(formatStatus(await embeddedDockerdStatus()));
    });

  daemon
    .command('stop')
    .description('stop the embedded dockerd and remove its network bridge')
    .option('--purge', 'also delete its state dir (images, build cache)')
    .action(async (opts: { purge?: boolean }) => {
      const before = await embeddedDockerdStatus();
      const pid = await stopEmbeddedDockerd();
      print([pid ? `embedded dockerd stopped (pid ${pid})` : 'embedded dockerd was not running']);
      if (opts.purge) {
        removeStateDir(before.stateDir);
        print([`removed ${before.stateDir}`]);
      }
    });
}
