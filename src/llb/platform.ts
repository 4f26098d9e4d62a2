/**
 * OCI platforms as LLB writes them (`pb.Platform`), normalised like containerd's
 * `platforms.Normalize`: arch aliases folded (x86_64 → amd64, aarch64 → arm64), arm64 `v8` and
 * amd64 `v1` variants dropped, 32-bit arm defaulting to `v7`.
 */
import { StapelkitError } from '../errors';
import type { PbPlatform } from './pb';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: string[];
}

/** A platform object or a `os/arch[/variant]` string such as `linux/arm64`. */
export type PlatformLike = Platform | string;

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
};

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    if (alias.variant && !variant) variant = alias.variant;
  }
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'amd64' && (variant === 'v1' || variant === '1')) variant = undefined;
  if (architecture === 'arm') {
    if (!variant || variant === '7' || variant === '7l') variant = 'v7';
    else if (variant === '5' || variant === '6' || variant === '8') variant = 'v' + variant;
  }
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p.osVersion) out.osVersion = p.osVersion;
  if (p.osFeatures?.length) out.osFeatures = [...p.osFeatures];
  return out;
}

export function parsePlatform(spec: PlatformLike): Platform {
  if (typeof spec !== 'string') {
    if (!spec.os || !spec.architecture) {
      throw new StapelkitError('LLB_INVALID_PLATFORM', `platform needs both os and architecture, got ${JSON.stringify(spec)}`);
    }
    return normalizePlatform(spec);
  }
  const parts = spec.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => x === '')) {
    throw new StapelkitError('LLB_INVALID_PLATFORM', `invalid platform "${spec}"`, { hint: 'use os/arch[/variant], e.g. linux/amd64 or linux/arm/v7' });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/**
 * The platform ops get when neither the op nor the state names one. Go uses the client machine's
 * platform; we do the same for the architecture but always say `linux`, since BuildKit builds Linux
 * images even when driven from another OS.
 */
export function defaultPlatform(): Platform {
  return normalizePlatform({ os: 'linux', architecture: NODE_ARCH[process.arch] ?? process.arch });
}

export function platformToPb(p: Platform): PbPlatform {
  const out: PbPlatform = { Architecture: p.architecture, OS: p.os };
  if (p.variant) out.Variant = p.variant;
  if (p.osVersion) out.OSVersion = p.osVersion;
  if (p.osFeatures?.length) out.OSFeatures = [...p.osFeatures];
  return out;
}
