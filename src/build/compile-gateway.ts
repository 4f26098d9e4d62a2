/**
 * The gateway `stapelkit compile` runs the driver with: the LLB caps are a fixed set (the same
 * input gives the same bytes, whatever daemon is around), and the daemon is dialled only when the
 * graph needs one — a base image's config, an import's files for its checksum. Each such need is
 * recorded, and when no daemon answers the error says what needed it.
 */
import { StapelkitError } from '../errors';
import type { Definition } from '../llb';
import type { Gateway, GatewayCaps, GatewayRef, GatewayResult, GatewayStat, ResolveImageOptions, ResolvedImage, SolveRefOptions } from './gateway';

export class CompileGateway implements Gateway {
  private opened?: Promise<Gateway>;
  /** Why the daemon was needed, in order, deduplicated. */
  readonly needs: string[] = [];

  constructor(
    private readonly llbCaps: Set<string>,
    private readonly open: () => Promise<Gateway>,
  ) {}

  get connected(): boolean {
    return this.opened !== undefined;
  }

  private daemon(why: string): Promise<Gateway> {
    if (!this.needs.includes(why)) this.needs.push(why);
    this.opened ??= this.open().catch((e: Error) => {
      throw new StapelkitError('DAEMON_NEEDED', `compile needs a BuildKit daemon for ${why}, and none answered: ${e.message}`, {
        hint: 'pass --addr (or set BUILDKIT_HOST / DOCKER_HOST); a project whose bases are other images of the project and whose import checksums are cached compiles without one',
        cause: e,
      });
    });
    return this.opened;
  }

  async caps(): Promise<GatewayCaps> {
    return { llb: this.llbCaps, frontend: new Set(), platforms: [], daemon: 'unknown' };
  }

  async resolveImageConfig(ref: string, opts?: ResolveImageOptions): Promise<ResolvedImage> {
    return (await this.daemon(`the image config of ${ref}`)).resolveImageConfig(ref, opts);
  }

  async solve(definition: Definition, opts?: SolveRefOptions): Promise<GatewayRef> {
    return (await this.daemon('reading a graph\'s files (an import\'s checksum)')).solve(definition, opts);
  }

  async readFile(ref: GatewayRef, path: string, range?: { offset: number; length: number }): Promise<Buffer> {
    return (await this.daemon('reading a graph\'s files')).readFile(ref, path, range);
  }

  async readDir(ref: GatewayRef, path: string, includePattern?: string): Promise<GatewayStat[]> {
    return (await this.daemon('reading a graph\'s files')).readDir(ref, path, includePattern);
  }

  async stat(ref: GatewayRef, path: string): Promise<GatewayStat> {
    return (await this.daemon('reading a graph\'s files')).stat(ref, path);
  }

  async finish(result?: GatewayResult, error?: Error): Promise<void> {
    if (!this.opened) return;
    const gw = await this.opened.catch(() => undefined);
    await gw?.finish(result, error);
  }
}
