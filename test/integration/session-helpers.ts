/** Small helpers for the session integration tests (not a test file). */
import { readTar, type TarReadEntry } from '../../src/buildkit/tar';

/** The entries of a tar stream (exporter output, `docker save`), named without a leading "./". */
export function readTarEntries(buf: Buffer): (TarReadEntry & { name: string })[] {
  return readTar(buf).map((e) => ({ ...e, name: e.path.replace(/^\.\//, '') }));
}

/** Polls `cond` until true or the timeout passes (session callbacks may land just after Solve returns). */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
