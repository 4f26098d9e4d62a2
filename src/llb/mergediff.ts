/**
 * MergeOp and DiffOp (BuildKit ≥ v0.10; caps `mergeop` / `diffop`). Like Go's llb.Merge / llb.Diff:
 * scratch inputs of a merge are dropped, a merge of one state is that state, and neither op carries
 * a platform. A v0.8 daemon lacks both; checkCaps refuses such definitions before solving.
 */
import { Cap } from './caps';
import { EMPTY_INPUT, type PbInput } from './pb';
import { State, scratch } from './state';
import { finishOp, opConstraints, type MarshalContext, type MarshaledVertex, type OpConstraints, type OpOptions, type Output, type Vertex } from './vertex';

export class MergeVertex implements Vertex {
  readonly kind = 'merge' as const;
  readonly explicitPlatform = undefined;

  constructor(
    readonly sources: readonly Output[],
    readonly constraints: OpConstraints,
  ) {}

  inputs(): Output[] {
    return [...this.sources];
  }

  marshal(ctx: MarshalContext): MarshaledVertex {
    // One Op.input per merged layer, in order, no dedup (Go appends each).
    const inputs = this.sources.map((o) => ctx.input(o));
    return finishOp({
      ctx,
      constraints: this.constraints,
      kind: 'merge',
      op: { inputs, merge: { inputs: inputs.map((_, i) => ({ input: i })) } },
      caps: [Cap.MergeOp],
      defaultName: 'merge',
      withPlatform: false,
    });
  }
}

export class DiffVertex implements Vertex {
  readonly kind = 'diff' as const;
  readonly explicitPlatform = undefined;

  constructor(
    readonly lower: Output | undefined,
    readonly upper: Output | undefined,
    readonly constraints: OpConstraints,
  ) {}

  inputs(): Output[] {
    return [this.lower, this.upper].filter((o): o is Output => o !== undefined);
  }

  marshal(ctx: MarshalContext): MarshaledVertex {
    // Lower then upper, each appended without dedup (as Go does); scratch is EMPTY_INPUT.
    const inputs: PbInput[] = [];
    const index = (o: Output | undefined) => (o ? inputs.push(ctx.input(o)) - 1 : EMPTY_INPUT);
    const lower = index(this.lower);
    const upper = index(this.upper);
    return finishOp({
      ctx,
      constraints: this.constraints,
      kind: 'diff',
      op: { inputs, diff: { lower: { input: lower }, upper: { input: upper } } },
      caps: [Cap.DiffOp],
      defaultName: 'diff',
      withPlatform: false,
    });
  }
}

/** Layer `states` on top of each other (later wins). */
export function merge(states: readonly State[], opts: OpOptions = {}): State {
  const layers = states.filter((s) => !s.isScratch());
  if (layers.length === 0) return scratch();
  if (layers.length === 1) return layers[0];
  return layers[0].derive({ vertex: new MergeVertex(layers.map((s) => s.output as Output), opConstraints(opts)), index: 0 });
}

/** The changes that turn `lower` into `upper`. */
export function diff(lower: State, upper: State, opts: OpOptions = {}): State {
  if (lower.isScratch()) return upper;
  return lower.derive({ vertex: new DiffVertex(lower.output, upper.output, opConstraints(opts)), index: 0 });
}
