/**
 * containerd.services.content.v1.Content served over the session: BuildKit's session content
 * proxy (session/content) picks the store by the `buildkit-attachable-store-id` header —
 * `local:<dir>` for a local cache import/export, `export` for the oci/docker exporters with
 * tar=false — and speaks containerd's content API to it. The Write stream follows containerd's
 * content server: first message names the ref, every message gets one answer, WRITE appends at the
 * current offset (offset 0 on a started ingest truncates), COMMIT checks size and digest.
 */
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from '../buildkit/grpc-js';
import { ContentError, type BlobInfo, type IngestStatus, type LocalContentStore } from './content-store';

export const STORE_ID_HEADER = 'buildkit-attachable-store-id';
export const CONTENT_SERVICE = 'containerd.services.content.v1.Content';

const WriteAction = { STAT: 0, WRITE: 1, COMMIT: 2 } as const;

const CODES: Record<ContentError['kind'], keyof typeof grpc.status> = {
  'not-found': 'NOT_FOUND',
  'already-exists': 'ALREADY_EXISTS',
  unavailable: 'UNAVAILABLE',
  'failed-precondition': 'FAILED_PRECONDITION',
  'invalid-argument': 'INVALID_ARGUMENT',
  'out-of-range': 'OUT_OF_RANGE',
};

function toStatus(e: unknown): grpc.ServiceError {
  const status = grpcJs().status;
  const code = e instanceof ContentError ? status[CODES[e.kind]] : status.INTERNAL;
  const details = (e as Error).message ?? String(e);
  return Object.assign(new Error(details), { code, details, metadata: new (grpcJs().Metadata)() }) as grpc.ServiceError;
}

function ts(d: Date): { seconds: number; nanos: number } {
  const ms = d.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function infoMsg(i: BlobInfo) {
  return { digest: i.digest, size: i.size, created_at: ts(i.createdAt), updated_at: ts(i.updatedAt), labels: i.labels };
}

function statusMsg(s: IngestStatus) {
  return { started_at: ts(s.startedAt), updated_at: ts(s.updatedAt), ref: s.ref, offset: s.offset, total: s.total, expected: s.expected };
}

const num = (v: unknown) => (typeof v === 'string' ? Number(v) : ((v as number | undefined) ?? 0));

/** The store a call is for, from its metadata. */
function chooser(stores: ReadonlyMap<string, LocalContentStore>) {
  return (md: grpc.Metadata): LocalContentStore => {
    const id = md.get(STORE_ID_HEADER)[0];
    if (id === undefined) throw new ContentError('invalid-argument', `request lacks metadata "${STORE_ID_HEADER}"`);
    const store = stores.get(String(id));
    if (!store) throw new ContentError('not-found', `unknown store ${String(id)}`);
    return store;
  };
}

type Any = any; // grpc-js handler call objects carry decoded protobuf objects

/**
 * Handlers for grpc.Server.addService(serviceDefinition(CONTENT_SERVICE), …). `stores` may grow
 * later; `onCall` sees each call's method and store id (for the session's stats).
 */
export function contentServiceHandlers(stores: ReadonlyMap<string, LocalContentStore>, onCall?: (method: string, storeId: string) => void): grpc.UntypedServiceImplementation {
  const pick = chooser(stores);
  const choose = (md: grpc.Metadata, method: string) => {
    onCall?.(method, String(md.get(STORE_ID_HEADER)[0] ?? ''));
    return pick(md);
  };
  const unary = (method: string, fn: (req: Any, store: LocalContentStore) => unknown) => (call: grpc.ServerUnaryCall<Any, Any>, cb: grpc.sendUnaryData<Any>) => {
    try {
      cb(null, fn(call.request, choose(call.metadata, method)));
    } catch (e) {
      cb(toStatus(e));
    }
  };
  return {
    Info: unary('Info', (req, s) => ({ info: infoMsg(s.info(req.digest ?? '')) })),
    Update: unary('Update', (req, s) => {
      const info = req.info ?? {};
      return { info: infoMsg(s.update(info.digest ?? '', info.labels ?? {}, req.update_mask?.paths ?? [])) };
    }),
    Delete: unary('Delete', (req, s) => {
      s.delete(req.digest ?? '');
      return {};
    }),
    Status: unary('Status', (req, s) => ({ status: statusMsg(s.status(req.ref ?? '')) })),
    ListStatuses: unary('ListStatuses', (_req, s) => ({ statuses: s.listStatuses().map(statusMsg) })),
    Abort: unary('Abort', (req, s) => {
      s.abort(req.ref ?? '');
      return {};
    }),
    List: (call: grpc.ServerWritableStream<Any, Any>) => {
      try {
        const all = choose(call.metadata, 'List').list().map(infoMsg);
        for (let i = 0; i < all.length; i += 100) call.write({ info: all.slice(i, i + 100) });
        call.end();
      } catch (e) {
        call.emit('error', toStatus(e));
      }
    },
    Read: (call: grpc.ServerWritableStream<Any, Any>) => {
      let stream;
      const offset = Math.max(0, num(call.request.offset));
      try {
        stream = choose(call.metadata, 'Read').read(call.request.digest ?? '', offset, Math.max(0, num(call.request.size)));
      } catch (e) {
        call.emit('error', toStatus(e));
        return;
      }
      let at = offset;
      stream.on('data', (chunk: Buffer) => {
        const ok = call.write({ offset: at, data: chunk });
        at += chunk.length;
        if (!ok) {
          stream.pause();
          call.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => call.end());
      stream.on('error', (e) => call.emit('error', toStatus(e)));
      call.on('cancelled', () => stream.destroy());
    },
    Write: (call: grpc.ServerDuplexStream<Any, Any>) => {
      void serveWrite(call, (md) => choose(md, 'Write')).catch((e) => call.emit('error', toStatus(e)));
    },
  };
}

async function serveWrite(call: grpc.ServerDuplexStream<Any, Any>, choose: (md: grpc.Metadata) => LocalContentStore): Promise<void> {
  const it = call[Symbol.asyncIterator]();
  let next = await it.next();
  if (next.done) return;
  let req = next.value;
  const ref: string = req.ref ?? '';
  if (!ref) throw new ContentError('invalid-argument', 'first message must have a reference');
  const store = choose(call.metadata);
  const w = store.writer(ref, num(req.total), req.expected ?? '');
  try {
    for (;;) {
      w.expect(num(req.total), req.expected ?? '');
      const action = num(req.action);
      const st = w.status();
      const msg: Record<string, unknown> = { action, offset: st.offset };
      if (action === WriteAction.STAT) {
        Object.assign(msg, { digest: w.digest(), started_at: ts(st.startedAt), updated_at: ts(st.updatedAt), total: st.total });
      } else if (action === WriteAction.WRITE || action === WriteAction.COMMIT) {
        const offset = num(req.offset);
        if (offset > 0 && offset !== st.offset) throw new ContentError('out-of-range', `write @${offset} must occur at current offset ${st.offset}`);
        if (offset === 0 && st.offset > 0) {
          w.truncate(0);
          msg.offset = 0;
        }
        const data: Buffer | undefined = req.data;
        if (data && data.length) msg.offset = (msg.offset as number) + w.write(data);
        if (action === WriteAction.COMMIT) {
          msg.digest = w.commit(num(req.total), req.expected ?? '', req.labels ?? {});
          msg.total = msg.offset;
        } else {
          msg.digest = w.digest();
        }
      } else {
        throw new ContentError('invalid-argument', `unknown write action ${action}`);
      }
      call.write(msg);
      if (action === WriteAction.COMMIT) {
        // The write is over; the client closes its side next (containerd's remote writer does).
        while (!(await it.next()).done) { /* nothing more is valid after a commit */ }
        break;
      }
      next = await it.next();
      if (next.done) break;
      req = next.value;
    }
    call.end();
  } finally {
    w.close(false);
  }
}
