/**
 * Starts and stops private instances of Debian's dockerd (20.10, BuildKit v0.8 inside).
 *
 * Each instance lives entirely in one state dir: unix socket, pidfile, data-root, exec-root, log,
 * an empty daemon.json (so /etc/docker/daemon.json cannot interfere) and a file naming its own
 * bridge. dockerd starts its own containerd under the exec-root; the containerd namespaces are
 * unique too, so two instances (or a system containerd) never see each other's containers.
 * Networking: a bridge we create ourselves with `--iptables=false` (no NAT; RUN steps get a
 * network namespace but no way out, which is all a hermetic build needs; `--bridge none` would make
 * every RUN fail).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { DockerApi } from './docker-api';

export const DOCKERD_BINARY = '/usr/sbin/dockerd';

export interface DockerdOptions {
  /** Directory holding everything of this instance; created if missing. */
  stateDir: string;
  /** Short id used in the bridge and containerd namespace names (default: random). */
  id?: string;
  /** Milliseconds to wait for `/_ping` (default 60 s). */
  startTimeoutMs?: number;
  /** Leave the daemon running when this process exits (the embedded default daemon). */
  detached?: boolean;
}

export interface DockerdInstance {
  stateDir: string;
  socketPath: string;
  /** `docker://unix:///…/docker.sock`: an address for connect(). */
  addr: string;
  pid: number;
  bridge: string;
  /** Milliseconds from spawn to the first successful ping (0 when an existing daemon was reused). */
  startMs: number;
  docker: DockerApi;
  stop(): Promise<void>;
}

export interface DockerdPaths {
  socketPath: string;
  pidFile: string;
  dataRoot: string;
  execRoot: string;
  logFile: string;
  configFile: string;
  bridgeFile: string;
}

export function dockerdPaths(stateDir: string): DockerdPaths {
  // containerd puts sockets under the exec-root; unix socket paths are limited to 108 bytes.
  let execRoot = path.join(stateDir, 'exec');
  if (Buffer.byteLength(path.join(execRoot, 'containerd', 'containerd.sock.ttrpc')) > 100) {
    execRoot = path.join(os.tmpdir(), `stapelkit-exec-${crypto.createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`);
  }
  return {
    socketPath: path.join(stateDir, 'docker.sock'),
    pidFile: path.join(stateDir, 'docker.pid'),
    dataRoot: path.join(stateDir, 'data'),
    execRoot,
    logFile: path.join(stateDir, 'dockerd.log'),
    configFile: path.join(stateDir, 'daemon.json'),
    bridgeFile: path.join(stateDir, 'bridge'),
  };
}

/** `docker://unix://<socket>`: the connect() address of a dockerd on that socket. */
const dockerAddr = (socketPath: string) => `docker://unix://${socketPath}`;

/** The bridge name an instance recorded, or '' when none was. */
function recordedBridge(p: DockerdPaths): string {
  return fs.existsSync(p.bridgeFile) ? fs.readFileSync(p.bridgeFile, 'utf8').trim() : '';
}

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0): look at its state.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Makes sure binfmt_misc is mounted and the qemu-aarch64 handler (from qemu-user-static's
 * /usr/lib/binfmt.d) is registered, so BuildKit reports linux/arm64 and can run arm64 RUN steps.
 * Returns whether arm64 binaries can run. Never throws: without binfmt, builds are amd64-only.
 */
export function ensureBinfmt(): { arm64: boolean; note?: string } {
  const dir = '/proc/sys/fs/binfmt_misc';
  try {
    if (!fs.existsSync(path.join(dir, 'register'))) {
      const m = run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir]);
      if (!m.ok && !fs.existsSync(path.join(dir, 'register'))) return { arm64: false, note: `cannot mount binfmt_misc: ${m.out}` };
    }
    const entry = path.join(dir, 'qemu-aarch64');
    if (!fs.existsSync(entry)) {
      const conf = '/usr/lib/binfmt.d/qemu-aarch64.conf';
      if (!fs.existsSync(conf)) return { arm64: false, note: 'qemu-user-static is not installed (no /usr/lib/binfmt.d/qemu-aarch64.conf)' };
      const line = fs.readFileSync(conf, 'utf8').split('\n').find((l) => l.startsWith(':'));
      if (!line) return { arm64: false, note: `${conf} has no registration line` };
      try {
        fs.writeFileSync(path.join(dir, 'register'), line);
      } catch (e) {
        // Another process may have registered it at the same moment (EEXIST).
        if (!fs.existsSync(entry)) return { arm64: false, note: `cannot register qemu-aarch64: ${(e as Error).message}` };
      }
    }
    const state = fs.readFileSync(entry, 'utf8');
    return { arm64: state.startsWith('enabled') };
  } catch (e) {
    return { arm64: false, note: (e as Error).message };
  }
}

/** A /24 in 10.213.0.0/16 that no existing route uses. */
function pickSubnet(): string {
  const routes = run('ip', ['-4', 'route', 'show']).out;
  for (let i = 0; i < 256; i++) {
    const k = crypto.randomInt(0, 256);
    if (!routes.includes(`10.213.${k}.`)) return `10.213.${k}`;
  }
  throw new StapelkitError('DOCKERD_START', 'no free 10.213.x.0/24 subnet for the private docker bridge');
}

function createBridge(name: string): void {
  if (run('ip', ['link', 'show', name]).ok) run('ip', ['link', 'del', name]);
  const net = pickSubnet();
  for (const args of [
    ['link', 'add', name, 'type', 'bridge'],
    ['addr', 'add', `${net}.1/24`, 'dev', name],
    ['link', 'set', name, 'up'],
  ]) {
    const r = run('ip', args);
    if (!r.ok) {
      run('ip', ['link', 'del', name]);
      throw new StapelkitError('DOCKERD_START', `cannot create the private docker bridge (ip ${args.join(' ')}): ${r.out}`, {
        hint: 'starting a private dockerd needs root (CAP_NET_ADMIN) and iproute2',
      });
    }
  }
}

function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const out: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(prefix)) out.push(decoded);
  }
  return out.reverse(); // innermost last mounted first
}

/** Lazily unmounts whatever dockerd left mounted under the state dir and the exec-root. */
function unmountInstance(stateDir: string, p: DockerdPaths): void {
  for (const dir of new Set([stateDir, p.execRoot])) for (const mp of mountsUnder(dir)) run('umount', ['-l', mp]);
}

/** Starts a private dockerd in `opts.stateDir` and waits until it answers `/_ping`. */
export async function startDockerd(opts: DockerdOptions): Promise<DockerdInstance> {
  if (!fs.existsSync(DOCKERD_BINARY)) {
    throw new StapelkitError('DOCKERD_MISSING', `${DOCKERD_BINARY} not found`, { hint: 'install Debian\'s docker.io package (scripts/install-deps.sh)' });
  }
  if (process.getuid && process.getuid() !== 0) {
    throw new StapelkitError('DOCKERD_START', 'starting a private dockerd needs root', { hint: 'run as root, or point --addr / BUILDKIT_HOST / DOCKER_HOST at a running daemon' });
  }
  const stateDir = path.resolve(opts.stateDir);
  const id = opts.id ?? crypto.randomBytes(4).toString('hex');
  const p = dockerdPaths(stateDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(p.execRoot, { recursive: true, mode: 0o700 });
  fs.rmSync(p.socketPath, { force: true });
  fs.writeFileSync(p.configFile, '{}\n');
  ensureBinfmt();

  const bridge = `skbr${id}`.slice(0, 15);
  createBridge(bridge);
  fs.writeFileSync(p.bridgeFile, bridge);

  const args = [
    `--host=unix://${p.socketPath}`,
    `--data-root=${p.dataRoot}`,
    `--exec-root=${p.execRoot}`,
    `--pidfile=${p.pidFile}`,
    `--config-file=${p.configFile}`,
    `--bridge=${bridge}`,
    '--iptables=false',
    '--ip-masq=false',
    '--ip6tables=false',
    `--containerd-namespace=stapelkit-${id}`,
    `--containerd-plugins-namespace=stapelkit-${id}-plugins`,
  ];
  const log = fs.openSync(p.logFile, 'a');
  const started = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(DOCKERD_BINARY, args, { stdio: ['ignore', log, log], detached: true });
  } finally {
    fs.closeSync(log);
  }
  let exited: string | undefined;
  const exitedP = new Promise<void>((resolve) => child.once('exit', (code, sig) => { exited = sig ?? `exit code ${code}`; resolve(); }));
  if (opts.detached) child.unref();
  const pid = child.pid!;
  const docker = new DockerApi(p.socketPath);

  const stop = async () => {
    await stopDaemonProcess(pid, p, exited === undefined ? exitedP : undefined);
    cleanupInstance(stateDir, p, bridge);
  };

  const deadline = started + (opts.startTimeoutMs ?? 60_000);
  while (!(await docker.ping(1000))) {
    if (exited !== undefined || Date.now() > deadline) {
      const tail = fs.existsSync(p.logFile) ? fs.readFileSync(p.logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
      await stop().catch(() => undefined);
      const why = exited !== undefined ? `dockerd exited (${exited})` : `dockerd did not answer within ${opts.startTimeoutMs ?? 60_000} ms`;
      throw new StapelkitError('DOCKERD_START', `${why}; log ${p.logFile}:\n${tail}`);
    }
    await sleep(100);
  }
  return { stateDir, socketPath: p.socketPath, addr: dockerAddr(p.socketPath), pid, bridge, startMs: Date.now() - started, docker, stop };
}

async function stopDaemonProcess(pid: number, p: DockerdPaths, exitedP?: Promise<void>): Promise<void> {
  const gone = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!isAlive(pid)) return true;
      if (exitedP) {
        const done = await Promise.race([exitedP.then(() => true), sleep(100).then(() => false)]);
        if (done) return true;
      } else await sleep(100);
    }
    return !isAlive(pid);
  };
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    if (!(await gone(20_000))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await gone(5_000);
    }
  }
  // dockerd stops its own containerd on SIGTERM; after a SIGKILL it may be left behind.
  const ctrPid = readPid(path.join(p.execRoot, 'containerd', 'containerd.pid'));
  if (ctrPid && isAlive(ctrPid)) {
    const cmdline = fs.readFileSync(`/proc/${ctrPid}/cmdline`, 'utf8');
    if (cmdline.includes(p.execRoot)) {
      process.kill(ctrPid, 'SIGTERM');
      for (let i = 0; i < 50 && isAlive(ctrPid); i++) await sleep(100);
      if (isAlive(ctrPid)) process.kill(ctrPid, 'SIGKILL');
    }
  }
}

function cleanupInstance(stateDir: string, p: DockerdPaths, bridge: string): void {
  unmountInstance(stateDir, p);
  if (run('ip', ['link', 'show', bridge]).ok) run('ip', ['link', 'del', bridge]);
  fs.rmSync(p.pidFile, { force: true });
  fs.rmSync(p.socketPath, { force: true });
}

/** Stops the dockerd whose state dir is `stateDir` (by its pidfile) and removes its bridge. */
export async function stopDockerdAt(stateDir: string): Promise<void> {
  const p = dockerdPaths(stateDir);
  const pid = readPid(p.pidFile);
  if (pid) await stopDaemonProcess(pid, p);
  cleanupInstance(stateDir, p, recordedBridge(p) || 'skbr-none');
}

/** Removes a stopped instance's state dir entirely (after unmounting whatever dockerd left). */
export function removeStateDir(stateDir: string): void {
  const p = dockerdPaths(stateDir);
  unmountInstance(stateDir, p);
  for (const dir of new Set([stateDir, p.execRoot])) fs.rmSync(dir, { recursive: true, force: true });
}

/** `$XDG_STATE_HOME/stapelkit` or `~/.local/state/stapelkit`. */
export function userStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state'), 'stapelkit');
}

/** State dir of the embedded default daemon. */
export function embeddedStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(userStateDir(env), 'dockerd');
}

export interface EmbeddedStatus {
  stateDir: string;
  socketPath: string;
  /** `docker://unix:///…/docker.sock` */
  addr: string;
  /** From the pidfile (possibly stale). */
  pid?: number;
  /** The pidfile's process is alive. */
  alive: boolean;
  /** The socket answers `/_ping`. */
  answering: boolean;
  /** Name of its network bridge while that exists. */
  bridge?: string;
  logFile: string;
}

/** What is known about the embedded default daemon, without starting or changing anything. */
export async function embeddedDockerdStatus(env: NodeJS.ProcessEnv = process.env): Promise<EmbeddedStatus> {
  const stateDir = embeddedStateDir(env);
  const p = dockerdPaths(stateDir);
  const pid = readPid(p.pidFile);
  const alive = pid !== undefined && isAlive(pid);
  const answering = alive && fs.existsSync(p.socketPath) && (await new DockerApi(p.socketPath).ping(3000));
  const named = recordedBridge(p);
  // The name stays on file for the next start; report the bridge only while it exists.
  const bridge = named && run('ip', ['link', 'show', named]).ok ? named : undefined;
  return { stateDir, socketPath: p.socketPath, addr: dockerAddr(p.socketPath), pid, alive, answering, bridge, logFile: p.logFile };
}

/**
 * Stops the embedded default daemon (if its pidfile names a live process) and removes its bridge
 * and socket either way. Returns the pid that was stopped, or undefined when none was running.
 */
export async function stopEmbeddedDockerd(env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const stateDir = embeddedStateDir(env);
  if (!fs.existsSync(stateDir)) return undefined;
  const release = await lockFile(path.join(stateDir, 'start.lock'));
  try {
    const pid = readPid(dockerdPaths(stateDir).pidFile);
    const running = pid !== undefined && isAlive(pid) ? pid : undefined;
    await stopDockerdAt(stateDir);
    return running;
  } finally {
    release();
  }
}

/**
 * The embedded default daemon: a private dockerd under the per-user state dir, started on first
 * use and reused afterwards (pidfile + ping). `say` receives one line when a daemon is started.
 */
export async function ensureEmbeddedDockerd(say: (line: string) => void = (l) => process.stderr.write(`${l}\n`), env: NodeJS.ProcessEnv = process.env): Promise<DockerdInstance> {
  const stateDir = embeddedStateDir(env);
  const p = dockerdPaths(stateDir);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Two stapelkit processes may both find no daemon: the lock makes the second one reuse the first's.
  const release = await lockFile(path.join(stateDir, 'start.lock'));
  try {
    const docker = new DockerApi(p.socketPath);
    const pid = readPid(p.pidFile);
    if (pid && isAlive(pid) && (await docker.ping(3000))) {
      return { stateDir, socketPath: p.socketPath, addr: dockerAddr(p.socketPath), pid, bridge: recordedBridge(p), startMs: 0, docker, stop: () => stopDockerdAt(stateDir) };
    }
    if (pid) await stopDockerdAt(stateDir); // stale or hung: clear it before starting afresh
    // A stable id per state dir keeps the bridge name the same across restarts.
    const id = crypto.createHash('sha256').update(stateDir).digest('hex').slice(0, 8);
    const inst = await startDockerd({ stateDir, id, detached: true });
    say(`stapelkit: no BuildKit daemon found; started a private dockerd at unix://${inst.socketPath} in ${(inst.startMs / 1000).toFixed(1)}s (state in ${stateDir}; it keeps running for the next build; stop it with: stapelkit daemon stop)`);
    return inst;
  } finally {
    release();
  }
}

/** An exclusive lock file (O_EXCL); a lock older than `staleMs` is taken over. */
export async function lockFile(file: string, timeoutMs = 90_000, staleMs = 120_000): Promise<() => void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(file, 'wx'));
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(file).mtimeMs > staleMs) fs.rmSync(file, { force: true });
      } catch {
        /* removed meanwhile */
      }
      if (Date.now() > until) throw new StapelkitError('DOCKERD_START', `another stapelkit process holds ${file}`, { hint: 'remove the file if no stapelkit is running' });
      await sleep(200);
    }
  }
}
