/**
 * TLS to a tcp:// buildkitd, done by us rather than by grpc-js: grpc-js always sets the TLS server
 * name to the address host (Node's DEP0123 warning for an IP address) and reports every handshake
 * problem as an opaque UNAVAILABLE. So connect() first probes the address — a TLS handshake plus the
 * HTTP/2 preface, or for a plain address the preface alone — and turns what goes wrong into a
 * message naming the flag that fixes it (--tlscacert, --tlscert, --tlskey, --tlsservername). The
 * channel then runs over a private unix socket whose connections we wrap in TLS (see startTlsBridge).
 */
import { listenPrivateBridge, type SocketBridge } from './socket-bridge';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StapelkitError } from '../errors';
import { defaultCaCertificates } from '../util/extra-ca';

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** File names, for messages. */
  files: { ca?: string; cert?: string; key?: string };
  serverName?: string;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
// An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
const H2_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

function tlsError(where: string, message: string, hint: string, cause?: unknown): StapelkitError {
  return new StapelkitError('TLS_HANDSHAKE', `TLS to the BuildKit daemon at ${where}: ${message}`, { hint, cause });
}

/** A secure context from the files; file-level mistakes (not PEM, key not matching) are named first. */
export function secureContext(m: TlsMaterial): tls.SecureContext {
  const bad = (what: string, flag: string, file: string | undefined, cause?: unknown) =>
    new StapelkitError('TLS_FILES', `${file} (${flag}) is not a PEM ${what}`, { hint: `pass a PEM file as ${flag}`, cause });
  if (m.ca) {
    // createSecureContext silently accepts a CA file without certificates.
    const pems = m.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0) throw bad('CA certificate', '--tlscacert', m.files.ca);
    for (const p of pems) {
      try {
        new crypto.X509Certificate(p);
      } catch (e) {
        throw bad('CA certificate', '--tlscacert', m.files.ca, e);
      }
    }
  }
  let cert: crypto.X509Certificate | undefined;
  if (m.cert) {
    try {
      cert = new crypto.X509Certificate(m.cert);
    } catch (e) {
      throw bad('client certificate', '--tlscert', m.files.cert, e);
    }
  }
  let key: crypto.KeyObject | undefined;
  if (m.key) {
    try {
      key = crypto.createPrivateKey(m.key);
    } catch (e) {
      throw bad('private key', '--tlskey', m.files.key, e);
    }
  }
  if (cert && key && !cert.checkPrivateKey(key)) {
    throw new StapelkitError('TLS_FILES', `the client key ${m.files.key} does not belong to the client certificate ${m.files.cert}`, { hint: 'pass the matching pair as --tlscert and --tlskey' });
  }
  try {
    // No --tlscacert: Node's roots, plus $NODE_EXTRA_CA_CERTS when bin/stapelkit deferred it.
    return tls.createSecureContext({ ca: m.ca ?? defaultCaCertificates(), cert: m.cert, key: m.key });
  } catch (e) {
    throw new StapelkitError('TLS_FILES', `cannot use the TLS files (${(e as Error).message.replace(/^error:[0-9A-F]+:/, '')})`, { hint: 'check --tlscacert, --tlscert and --tlskey', cause: e });
  }
}

/** tls.connect options: the server name only when it is a host name (RFC 6066), verified as given. */
export function connectOptions(host: string, port: number, m: TlsMaterial, ctx: tls.SecureContext): tls.ConnectionOptions {
  const name = m.serverName || host;
  const opts: tls.ConnectionOptions = { host, port, secureContext: ctx, ALPNProtocols: ['h2'] };
  if (!net.isIP(name)) opts.servername = name;
  // Verify against the name the user expects (the address host, or --tlsservername).
  opts.checkServerIdentity = (_h, cert) => tls.checkServerIdentity(name, cert);
  return opts;
}

const CLIENT_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/** A handshake failure as a message with the flag to fix it. */
export function explainTlsFailure(where: string, m: TlsMaterial, e: unknown): StapelkitError {
  const err = e as NodeJS.ErrnoException & { reason?: string };
  const code = err.code ?? '';
  const raw = err.message ?? String(e);
  if (CLIENT_VERIFY_CODES.has(code)) {
    const against = m.files.ca ? `the CA in ${m.files.ca}` : 'the system CAs';
    return tlsError(where, `the daemon's certificate is not signed by ${against} (${code})`, 'pass the CA that signed the daemon\'s certificate as --tlscacert', e);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return tlsError(where, `the daemon's certificate is not valid for "${m.serverName || where.replace(/:\d+$/, '')}" (${err.reason ?? raw})`, 'pass a name the certificate holds as --tlsservername', e);
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return tlsError(where, `the daemon's certificate is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'}`, 'renew the daemon\'s certificate, or check the clock', e);
  }
  if (/CERTIFICATE_REQUIRED/.test(code) || (/HANDSHAKE_FAILURE/.test(code) && !m.cert)) {
    return tlsError(where, 'the daemon requires a client certificate and none was given', 'pass --tlscert and --tlskey (a certificate signed by a CA the daemon trusts)', e);
  }
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|HANDSHAKE_FAILURE)/.test(code)) {
    const alert = code.replace(/^ERR_SSL_(SSLV3|TLSV1|TLSV13)_ALERT_/, '').toLowerCase().replace(/_/g, ' ');
    return tlsError(where, `the daemon rejected the client certificate ${m.files.cert} (alert: ${alert})`, 'pass --tlscert and --tlskey signed by a CA the daemon trusts', e);
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER|HTTP_REQUEST/.test(code) || code === 'ECONNRESET' || /before secure TLS connection/.test(raw)) {
    return tlsError(where, 'the daemon does not speak TLS on this port (the handshake got no TLS answer)', 'drop --tlscacert, --tlscert and --tlskey for a plain tcp:// daemon, or check the port', e);
  }
  return tlsError(where, raw, 'check --tlscacert, --tlscert, --tlskey and --tlsservername', e);
}

/** Sends the HTTP/2 preface over `sock` and waits for the server's first bytes (its SETTINGS). */
function awaitH2Answer(sock: net.Socket, timeoutMs: number): Promise<{ first?: Buffer; error?: Error; closed?: boolean; timeout?: boolean }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { first?: Buffer; error?: Error; closed?: boolean; timeout?: boolean }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ timeout: true }), timeoutMs);
    sock.once('data', (b: Buffer) => finish({ first: b }));
    sock.once('error', (e) => finish({ error: e }));
    sock.once('close', () => finish({ closed: true }));
    sock.write(Buffer.concat([H2_PREFACE, H2_SETTINGS]));
  });
}

const isTlsRecord = (b: Buffer) => b.length >= 3 && (b[0] === 0x15 || b[0] === 0x16) && b[1] === 0x03;

/**
 * A plain tcp:// address: fails with a message naming the TLS flags when the daemon turns out to
 * speak TLS there. Other outcomes (an HTTP/2 answer, a slow daemon) are left to gRPC.
 */
export async function probePlain(host: string, port: number, timeoutMs = 5000): Promise<void> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const sock = net.connect({ host, port });
  await new Promise<void>((resolve) => {
    sock.once('connect', () => resolve());
    sock.once('error', () => resolve());
  });
  if (sock.destroyed) return; // the reachability check reports connection errors
  const r = await awaitH2Answer(sock, timeoutMs);
  const hint = 'pass --tlscacert (and --tlscert/--tlskey if it wants a client certificate)';
  if (r.first && isTlsRecord(r.first)) {
    throw new StapelkitError('TLS_REQUIRED', `the BuildKit daemon at ${where} answered plain HTTP/2 with TLS: it expects TLS`, { hint });
  }
  if ((r.closed && !r.first) || (r.error as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET') {
    throw new StapelkitError('TLS_REQUIRED', `the BuildKit daemon at ${where} closed the connection without an HTTP/2 answer, as a TLS port does`, { hint });
  }
}

/** A TLS tcp:// address: a full handshake plus the HTTP/2 preface, failures explained. */
export async function probeTls(host: string, port: number, m: TlsMaterial, timeoutMs = 10_000): Promise<void> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ctx = secureContext(m);
  const sock = tls.connect(connectOptions(host, port, m, ctx));
  const hs = await new Promise<Error | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(sock.authorized ? undefined : (sock.authorizationError as Error));
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  if (hs) {
    sock.destroy();
    throw explainTlsFailure(where, m, hs);
  }
  // With TLS 1.3 the server checks the client certificate after our side of the handshake is
  // done: its verdict (an alert) or its HTTP/2 SETTINGS comes with the first bytes.
  const r = await awaitH2Answer(sock, timeoutMs);
  if (r.error) throw explainTlsFailure(where, m, r.error);
  if (r.closed && !r.first) {
    // No alert reached us (TLS 1.3 servers may just hang up): the client certificate is the suspect.
    if (m.cert) throw tlsError(where, `the daemon closed the connection right after the handshake: it rejected the client certificate ${m.files.cert}`, 'pass --tlscert and --tlskey signed by a CA the daemon trusts');
    throw tlsError(where, 'the daemon closed the connection right after the handshake: it requires a client certificate', 'pass --tlscert and --tlskey (a certificate signed by a CA the daemon trusts)');
  }
}

/**
 * A private unix socket whose connections are wrapped in TLS to host:port with our own options,
 * so grpc-js speaks plain HTTP/2 to it. Returns its path and a closer.
 */
export function startTlsBridge(host: string, port: number, m: TlsMaterial): Promise<SocketBridge> {
  const ctx = secureContext(m);
  const opts = connectOptions(host, port, m, ctx);
  return listenPrivateBridge('stapelkit-tls', (local, open) => {
    open.add(local);
    const remote = tls.connect(opts);
    open.add(remote);
    local.on('error', () => remote.destroy());
    remote.on('error', () => local.destroy());
    local.on('close', () => {
      open.delete(local);
      remote.destroy();
    });
    remote.on('close', () => {
      open.delete(remote);
      local.destroy();
    });
    remote.once('secureConnect', () => {
      if (!remote.authorized) return void remote.destroy();
      local.pipe(remote);
      remote.pipe(local);
    });
  });
}
