/**
 * `stapelkit daemon status|start|stop`: the embedded default daemon, the private dockerd Stapelkit
 * starts under $XDG_STATE_HOME/stapelkit when no other daemon is given or found.
 */
import { Command } from 'commander';
import { addConnectionOptions, connectWithFlags, type DaemonFlags } from '../../daemon/cli-options';
import { formatDaemonVersion } from '../../buildkit/version';
import { embeddedDockerdStatus, ensureEmbeddedDockerd, removeStateDir, stopEmbeddedDockerd, type EmbeddedStatus } from '../../daemon/dockerd';

/** Human lines for `daemon status` (pure). */
export function formatStatus(s: EmbeddedStatus): string[] {
  const state = s.answering ? `running (pid ${s.pid})` : s.alive ? `not answering (pid ${s.pid} is alive; see ${s.logFile})` : s.pid ? `not running (stale pidfile, pid ${s.pid})` : 'not running';
  return [`embedded dockerd: ${state}`, `socket: unix://${s.socketPath}`, `address: ${s.addr}`, `state dir: ${s.stateDir}`, ...(s.bridge ? [`bridge: ${s.bridge}`] : [])];
}

export function register(program: Command): void {
  const daemon = program.command('daemon').description("manage Stapelkit's embedded default dockerd (under $XDG_STATE_HOME/stapelkit)");
  const print = (lines: string[]) => process.stdout.write(lines.map((l) => `${l}\n`).join(''));

  /** `buildkit: …` and `workers: …` lines of the daemon at `flags.addr`, or one line saying why not. */
  const describeDaemon = async (flags: DaemonFlags): Promise<string[]> => {
    let client;
    try {
      client = await connectWithFlags(flags, { say: (l) => process.stderr.write(`${l}\n`) });
    } catch (e) {
      return [`buildkit: unreachable: ${(e as Error).message}`];
    }
    try {
      const version = formatDaemonVersion(await client.daemonVersion());
      const workers = await client.listWorkers();
      return [`buildkit: ${version}`, ...workers.map((w) => `worker: ${w.id} (${w.platforms.join(', ')})`)];
    } catch (e) {
      return [`buildkit: ${(e as Error).message}`];
    } finally {
      await client.close();
    }
  };

  addConnectionOptions(
    daemon
      .command('status')
      .description('show whether the embedded dockerd runs (socket, pid, state dir) and its BuildKit version; with --addr, the version and workers of that daemon'),
  ).action(async (flags: DaemonFlags) => {
    if (flags.addr) {
      print([`address: ${flags.addr}`, ...(await describeDaemon(flags))]);
      return;
    }
    const status = await embeddedDockerdStatus();
    print([...formatStatus(status), ...(status.answering ? await describeDaemon({ addr: status.addr }) : [])]);
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
