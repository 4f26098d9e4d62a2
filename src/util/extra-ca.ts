/**
 * $NODE_EXTRA_CA_CERTS when bin/stapelkit kept it from Node's start-up (Node parses every
 * certificate in it before running any code: ~90 ms for a system bundle, on commands that make no
 * TLS connection at all). Our TLS connections that have no CA of their own — the registry client,
 * buildkitd over tcp without --tlscacert — trust Node's bundled roots plus these, as Node would.
 */
import * as fs from 'node:fs';
import type * as tls from 'node:tls';

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

let deferredFile: string | undefined;
let roots: string[] | undefined;

/** Called once by the CLI with the file bin/stapelkit passed on (undefined: Node loaded it itself, or there is none). */
export function setDeferredCaFile(file: string | undefined): void {
  deferredFile = file ? file : undefined;
  roots = undefined;
}

/** Whether bin/stapelkit deferred a CA file (cheap: the file is read on first use). */
export function hasDeferredCa(): boolean {
  return deferredFile !== undefined;
}

/**
 * The CA list for a TLS connection without a CA of its own: undefined when Node's defaults already
 * hold everything (nothing was deferred), else Node's bundled roots and the deferred file's
 * certificates. An unreadable file is skipped with Node's own warning.
 */
export function defaultCaCertificates(): string[] | undefined {
  if (deferredFile === undefined) return undefined;
  if (roots === undefined) {
    let extra: string[] = [];
    try {
      extra = fs.readFileSync(deferredFile, 'latin1').match(PEM_RE) ?? [];
    } catch (e) {
      process.emitWarning(`Ignoring extra certs from \`${deferredFile}\`, load failed: ${(e as Error).message}`);
    }
    // Required here: the CLI imports this module on every start, most commands never use TLS.
    roots = [...(require('node:tls') as typeof tls).rootCertificates, ...extra];
  }
  return roots;
}
