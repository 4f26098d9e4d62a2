/**
 * Where the BuildKit daemon is and how grpc-js reaches it.
 *
 * Addresses:
 *   unix:///path            standalone buildkitd on a unix socket
 *   tcp://host:port         standalone buildkitd over TCP (mTLS with ca/cert/key files)
 *   docker://               dockerd at /var/run/docker.sock
 *   docker://unix:///path   dockerd on that socket      (also DOCKER_HOST=unix:///path)
 *   docker://tcp://h:p      dockerd over plain TCP      (also DOCKER_HOST=tcp://h:p)
 * dockerd serves BuildKit's gRPC API at `POST /grpc` after an HTTP/1.1 upgrade to h2c. grpc-js cannot
 * dial through an arbitrary stream, so a private unix socket stands in front of it: every connection
 * accepted there performs the upgrade on a fresh docker connection and then pipes bytes both ways.
 */
import { openPrivateBridge, type SocketBridge } from './socket-bridge';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './grpc-js';
import { StapelkitError } from '../errors';
import { DockerdAddress, dialHijack, dockerPing } from './hijack';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  /** Server name to verify instead of the host in the address. */
  serverName?: string;
}

export type DaemonAddress =
  | { kind: 'buildkitd'; net: 'unix'; path: string; text: string }
  | { kind: 'buildkitd'; net: 'tcp'; host: string; port: number; tls?: TlsFiles; text: string }
  | { kind: 'dockerd'; net: 'unix'; path: string; text: string }
  | { kind: 'dockerd'; net: 'tcp'; host: string; port: number; text: string };

export const DEFAULT_BUILDKITD_SOCKET = '/run/buildkit/buildkitd.sock';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

function badAddr(addr: string, why: string): StapelkitError {
  return new StapelkitError('BAD_ADDRESS', `invalid daemon address "${addr}": ${why}`, {
    hint: 'use unix:///path, tcp://host:port, docker:// or docker://unix:///path',
  });
}

function parseHostPort(addr: string, rest: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(rest);
  if (!m) throw badAddr(addr, 'expected host:port');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw badAddr(addr, `port ${port} out of range`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

function parseUnixPath(addr: string, rest: string): string {
  // unix:///abs/path → /abs/path ; unix://rel is not allowed (daemon sockets are absolute)
  if (!rest.startsWith('/')) throw badAddr(addr, 'a unix socket path must be absolute (unix:///path/to.sock)');
  return rest;
}

/** Parses an address (see the module comment). `tls` applies to tcp:// buildkitd addresses. */
export function parseAddress(addr: string, tls?: TlsFiles): DaemonAddress {
  const text = addr.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(text);
  if (!m) throw badAddr(addr, 'missing scheme');
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  switch (scheme) {
    case 'unix':
      return { kind: 'buildkitd', net: 'unix', path: parseUnixPath(addr, rest), text };
    case 'tcp': {
      const hp = parseHostPort(addr, rest);
      const hasTls = tls && (tls.ca || tls.cert || tls.key);
      return { kind: 'buildkitd', net: 'tcp', ...hp, ...(hasTls ? { tls } : {}), text };
    }
    case 'docker': {
      if (rest === '') return { kind: 'dockerd', net: 'unix', path: DEFAULT_DOCKER_SOCKET, text };
      if (rest.startsWith('/')) return { kind: 'dockerd', net: 'unix', path: rest, text };
      const inner = /^([a-z]+):\/\/(.*)$/i.exec(rest);
      if (!inner) throw badAddr(addr, 'expected docker://unix:///path or docker://tcp://host:port');
      if (inner[1].toLowerCase() === 'unix') return { kind: 'dockerd', net: 'unix', path: parseUnixPath(addr, inner[2]), text };
      if (inner[1].toLowerCase() === 'tcp') return { kind: 'dockerd', net: 'tcp', ...parseHostPort(addr, inner[2]), text };
      throw badAddr(addr, `unsupported docker transport "${inner[1]}"`);
    }
    default:
      throw new StapelkitError('BAD_ADDRESS', `unknown daemon address scheme "${scheme}" in "${addr}"`, {
        hint: 'supported: unix://, tcp://, docker://',
      });
  }
}

/** DOCKER_HOST (unix:// or tcp://) as a dockerd address. */
export function parseDockerHost(value: string): DaemonAddress {
  const v = value.trim();
  if (/^(unix|tcp):\/\//i.test(v)) return parseAddress(`docker://${v}`);
  if (/^docker:\/\//i.test(v)) return parseAddress(v);
  throw new StapelkitError('BAD_ADDRESS', `unsupported DOCKER_HOST "${value}"`, { hint: 'use unix:///path or tcp://host:port' });
}

export interface ResolvedAddress {
  address: DaemonAddress;
  /** Where the address came from. */
  source: 'flag' | 'BUILDKIT_HOST' | 'DOCKER_HOST' | 'default' | 'embedded';
}

/**
 * The address the user named — --addr, else BUILDKIT_HOST, else DOCKER_HOST, in that order — or
 * undefined when none is set (then the default sockets are probed). Throws on a bad address.
 */
export function namedAddress(addr: string | undefined, env: NodeJS.ProcessEnv, tls?: TlsFiles): ResolvedAddress | undefined {
  if (addr) return { address: parseAddress(addr, tls), source: 'flag' };
  if (env.BUILDKIT_HOST) return { address: parseAddress(env.BUILDKIT_HOST, tls), source: 'BUILDKIT_HOST' };
  if (env.DOCKER_HOST) return { address: parseDockerHost(env.DOCKER_HOST), source: 'DOCKER_HOST' };
  return undefined;
}

/** Opens and closes one connection: undefined when it was accepted, else why not. */
export function dialError(to: net.NetConnectOpts, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.connect(to);
    const done = (err?: string) => {
      s.destroy();
      resolve(err);
    };
    s.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    s.once('connect', () => done());
    s.once('error', (e) => done(e.message));
  });
}

export async function socketAnswers(p: string, timeoutMs = 1000): Promise<boolean> {
  return fs.existsSync(p) && (await dialError({ path: p }, timeoutMs)) === undefined;
}

/** What grpc-js needs to dial, plus how to tear down whatever stands in front of the daemon. */
export interface Transport {
  address: DaemonAddress;
  target: string;
  credentials: grpc.ChannelCredentials;
  /** Extra grpc-js channel options (e.g. the TLS server name override). */
  channelOptions: grpc.ChannelOptions;
  close(): Promise<void>;
}

/** A transport grpc-js dials without TLS of its own; its credentials are made when a client is. */
function plainTransport(address: DaemonAddress, target: string, close: () => Promise<void>): Transport {
  return {
    address,
    target,
    get credentials() {
      return grpcJs().credentials.createInsecure();
    },
    channelOptions: {},
    close,
  };
}

function unreachable(address: DaemonAddress, why: string): StapelkitError {
  return new StapelkitError('DAEMON_UNREACHABLE', `cannot reach the ${address.kind === 'dockerd' ? 'Docker daemon' : 'BuildKit daemon'} at ${address.text}: ${why}`);
}

function tcpAnswers(host: string, port: number, timeoutMs = 3000): Promise<string | undefined> {
  return dialError({ host, port }, timeoutMs);
}

function readTlsFiles(tls: TlsFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const missing: string[] = [];
  const read = (what: string, p?: string) => {
    if (!p) return undefined;
    try {
      return fs.readFileSync(p);
    } catch {
      missing.push(`${what} ${p}`);
      return undefined;
    }
  };
  const out = { ca: read('CA certificate', tls.ca), cert: read('client certificate', tls.cert), key: read('client key', tls.key) };
  if (missing.length) throw new StapelkitError('TLS_FILES', `cannot read TLS file${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  if (!!tls.cert !== !!tls.key) throw new StapelkitError('TLS_FILES', 'a TLS client certificate and its key must be given together');
  return out;
}

/**
 * A private unix socket whose every connection is upgraded to h2c at dockerd's `POST /grpc` and
 * then piped through (grpc-js cannot dial over an already-open socket). Returns its path and a closer.
 */
export function startGrpcUpgradeBridge(address: DockerdAddress): Promise<SocketBridge> {
  const bridge = openGrpcUpgradeBridge(address);
  return bridge.listening.then(() => ({ socketPath: bridge.socketPath, close: bridge.close }));
}

function openGrpcUpgradeBridge(address: DockerdAddress): SocketBridge & { listening: Promise<void> } {
  return openPrivateBridge('stapelkit-grpc', (local, open) => {
    local.pause();
    open.add(local);
    local.on('error', () => local.destroy());
    local.on('close', () => open.delete(local));
    dialHijack(address, '/grpc').then(
      (remote) => {
        if (local.destroyed) return void remote.destroy();
        open.add(remote);
        remote.on('error', () => local.destroy());
        remote.on('close', () => {
          open.delete(remote);
          local.destroy();
        });
        local.on('close', () => remote.destroy());
        remote.pipe(local);
        local.pipe(remote);
        remote.resume();
        local.resume();
      },
      () => local.destroy(),
    );
  });
}

/** Checks that the daemon answers and prepares a grpc-js target for it. */
export async function openTransport(address: DaemonAddress): Promise<Transport> {
  if (address.kind === 'buildkitd' && address.net === 'unix') {
    if (!fs.existsSync(address.path)) throw unreachable(address, `${address.path} does not exist`);
    if (!(await socketAnswers(address.path, 3000))) throw unreachable(address, 'nothing accepts connections on that socket');
    return plainTransport(address, `unix:${address.path}`, async () => undefined);
  }
  if (address.kind === 'buildkitd' && address.net === 'tcp') {
    const material = address.tls ? { ...readTlsFiles(address.tls), files: { ca: address.tls.ca, cert: address.tls.cert, key: address.tls.key }, serverName: address.tls.serverName } : undefined;
    const err = await tcpAnswers(address.host, address.port);
    if (err) throw unreachable(address, err);
    // Required here: node:tls is a few ms of every start, and only tcp:// daemons need it.
    const { probePlain, probeTls, startTlsBridge } = require('./tls') as typeof import('./tls');
    if (!material) {
      await probePlain(address.host, address.port);
      const host = address.host.includes(':') ? `[${address.host}]` : address.host;
      return plainTransport(address, `${host}:${address.port}`, async () => undefined);
    }
    // TLS is ours, not grpc-js's (see tls.ts): probe, then a private unix socket that wraps each connection.
    await probeTls(address.host, address.port, material);
    const bridge = await startTlsBridge(address.host, address.port, material);
    return plainTransport(address, `unix:${bridge.socketPath}`, bridge.close);
  }
  // dockerd
  if (address.net === 'unix') {
    if (!fs.existsSync(address.path)) throw unreachable(address, `${address.path} does not exist`);
    if (!(await dockerPing(address.path, 5000))) throw unreachable(address, 'no answer to /_ping');
  } else {
    const err = await tcpAnswers(address.host, address.port);
    if (err) throw unreachable(address, err);
  }
  return lazyBridgeTransport(address);
}

/**
 * dockerd's transport: the upgrade bridge opens with the first gRPC stub (a build whose stages are
 * all stored speaks only the Docker API, and has no socket to make and remove).
 */
function lazyBridgeTransport(address: DockerdAddress): Transport {
  let bridge: SocketBridge | undefined;
  return {
    address,
    get target() {
      bridge ??= openGrpcUpgradeBridge(address);
      return `unix:${bridge.socketPath}`;
    },
    get credentials() {
      return grpcJs().credentials.createInsecure();
    },
    channelOptions: {},
    close: async () => {
      await bridge?.close();
    },
  };
}
