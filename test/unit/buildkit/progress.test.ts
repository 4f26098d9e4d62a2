import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PlainPrinter, ProgressCollector, TtyPrinter, createProgress, toStatusUpdate, type StatusUpdate } from '../../../src/buildkit/progress';

const T0 = 1_700_000_000;
const ts = (ms: number) => ({ seconds: T0 + Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });

/** A build as BuildKit reports it: image resolved, one RUN with logs, one cached step. */
const stream: StatusUpdate[] = [
  { vertexes: [{ digest: 'sha256:img', name: 'docker-image://docker.io/stapelkit/busybox:amd64', started: ts(0) }, { digest: 'sha256:run', inputs: ['sha256:img'], name: '/bin/sh -c make' }], statuses: [], logs: [] },
  { vertexes: [{ digest: 'sha256:img', name: 'docker-image://docker.io/stapelkit/busybox:amd64', started: ts(0), completed: ts(100) }], statuses: [], logs: [] },
  { vertexes: [{ digest: 'sha256:run', name: '/bin/sh -c make', started: ts(200) }], statuses: [], logs: [] },
  { vertexes: [], statuses: [], logs: [{ vertex: 'sha256:run', timestamp: ts(450), stream: 1, msg: Buffer.from('compiling\nlinking') }] },
  { vertexes: [], statuses: [], logs: [{ vertex: 'sha256:run', timestamp: ts(700), stream: 1, msg: Buffer.from(' done\n') }] },
  { vertexes: [{ digest: 'sha256:run', name: '/bin/sh -c make', started: ts(200), completed: ts(1500) }, { digest: 'sha256:cached', name: '/bin/sh -c echo cached', cached: true, started: ts(1500), completed: ts(1500) }], statuses: [], logs: [] },
  { vertexes: [{ digest: 'sha256:exp', name: 'exporting to image', started: ts(1600) }], statuses: [{ ID: 'writing image sha256:abc', vertex: 'sha256:exp', name: 'writing image sha256:abc', timestamp: ts(1650), started: ts(1600), completed: ts(1650) }], logs: [] },
  { vertexes: [{ digest: 'sha256:exp', name: 'exporting to image', started: ts(1600), completed: ts(1700) }], statuses: [], logs: [] },
].map(toStatusUpdate);

function sink(): { out: Writable & { isTTY?: boolean; columns?: number }; text: () => string } {
  let s = '';
  const out = new Writable({
    write(c, _e, cb) {
      s += c.toString();
      cb();
    },
  });
  return { out, text: () => s };
}

test('toStatusUpdate: timestamps, bytes, defaults', () => {
  const u = toStatusUpdate({ vertexes: [{ digest: 'd', started: ts(1500) }], logs: [{ vertex: 'd', msg: Buffer.from('x'), stream: 2 }] });
  assert.is(u.vertexes[0].cached, false);
  assert.is(u.vertexes[0].started?.getTime(), (T0 + 1.5) * 1000);
  assert.is(u.vertexes[0].completed, undefined);
  assert.is(u.logs[0].msg.toString(), 'x');
  assert.is(u.logs[0].stream, 2);
});

test('PlainPrinter: buildx plain format', () => {
  const s = sink();
  const p = new PlainPrinter(s.out);
  for (const u of stream) p.update(u);
  p.done();
  assert.is(
    s.text(),
    [
      '#1 docker-image://docker.io/stapelkit/busybox:amd64',
      '#1 DONE 0.1s',
      '',
      '#2 /bin/sh -c make',
      '#2 0.250 compiling',
      '#2 0.500 linking done',
      '#2 DONE 1.3s',
      '',
      '#3 /bin/sh -c echo cached',
      '#3 CACHED',
      '',
      '#4 exporting to image',
      '#4 writing image sha256:abc done',
      '#4 DONE 0.1s',
      '',
    ].join('\n'),
  );
});

test('PlainPrinter: an error and a partial last line', () => {
  const s = sink();
  const p = new PlainPrinter(s.out);
  p.update(toStatusUpdate({ vertexes: [{ digest: 'r', name: '/bin/sh -c false', started: ts(0) }], logs: [{ vertex: 'r', timestamp: ts(10), msg: Buffer.from('no newline') }] }));
  p.update(toStatusUpdate({ vertexes: [{ digest: 'r', name: '/bin/sh -c false', started: ts(0), completed: ts(20), error: 'exit code: 1' }] }));
  assert.is(s.text(), '#1 /bin/sh -c false\n#1 no newline\n#1 ERROR: exit code: 1\n');
});

test('PlainPrinter: a digest run again by a later solve is printed again (a cached repeat is not)', () => {
  const s = sink();
  const p = new PlainPrinter(s.out);
  const exp = (start: number, end: number) => toStatusUpdate({ vertexes: [{ digest: 'e', name: 'exporting to image', started: ts(start), completed: ts(end) }] });
  p.update(exp(0, 100));
  p.update(exp(0, 100)); // the same run reported again
  p.update(exp(2000, 2700));
  p.update(toStatusUpdate({ vertexes: [{ digest: 'e', name: 'exporting to image', cached: true, started: ts(3000), completed: ts(3000) }] }));
  assert.is(s.text(), '#1 exporting to image\n#1 DONE 0.1s\n\n#2 exporting to image\n#2 DONE 0.7s\n');
});

test('ProgressCollector: per-vertex state, logs, allCached with source exemption', () => {
  const c = new ProgressCollector();
  for (const u of stream) c.update(u);
  assert.equal(c.list().map((v) => v.digest), ['sha256:img', 'sha256:run', 'sha256:cached', 'sha256:exp']);
  assert.is(c.logText('sha256:run'), 'compiling\nlinking done\n');
  assert.equal(c.lastLogLines('sha256:run', 1), ['linking done']);
  assert.ok(c.vertices.get('sha256:run')?.completed);
  assert.is(c.allCached(), false);

  const second = new ProgressCollector();
  second.sourceDigests.add('sha256:img');
  second.update(toStatusUpdate({ vertexes: [{ digest: 'sha256:img', name: 'img', started: ts(0), completed: ts(5) }, { digest: 'sha256:run', name: 'run', cached: true, completed: ts(5) }] }));
  assert.ok(second.allCached(), 'a completed source does not count');
  assert.not.ok(second.allCached({ strict: true }));
  second.update(toStatusUpdate({ vertexes: [{ digest: 'sha256:x', name: 'x', started: ts(6) }] }));
  assert.not.ok(second.allCached());
  assert.equal(second.uncached().map((v) => v.name), ['x']);
  assert.not.ok(new ProgressCollector().allCached(), 'nothing reported is not "all cached"');
});

test('lastLogLines: the last lines, always with the last stderr lines', () => {
  const c = new ProgressCollector();
  const log = (stream: number, msg: string) => c.update(toStatusUpdate({ logs: [{ vertex: 'v', stream, msg: Buffer.from(msg) }] }));
  log(1, 'out 1\n');
  log(2, 'err: early\nerr: ');
  log(1, Array.from({ length: 12 }, (_, i) => `out ${i + 2}`).join('\n') + '\n');
  log(2, 'fatal\n');
  assert.equal(c.lastLogLines('v', 4), ['err: early', 'out 12', 'out 13', 'err: fatal'], 'arrival order kept');
  assert.equal(c.lastLogLines('v', 4, 0), ['out 11', 'out 12', 'out 13', 'err: fatal']);
  assert.equal(c.lastLogLines('v', 100).length, 15);
  assert.equal(c.lastLogLines('nope'), []);
});

test('TtyPrinter: running steps with timers and log tails, final view', () => {
  const s = sink();
  s.out.columns = 60;
  const p = new TtyPrinter(s.out, 10_000);
  for (const u of stream.slice(0, 4)) p.update(u);
  const now = (T0 + 1) * 1000;
  const live = p.render(false, now);
  assert.match(live[0], /^\[\+\] Building /);
  assert.ok(live.some((l) => /^ => docker-image:\/\/.* 0\.1s$/.test(l)), live.join('\n'));
  assert.ok(live.some((l) => /^ => \/bin\/sh -c make +0\.8s$/.test(l)), live.join('\n'));
  assert.ok(live.includes(' => => # compiling'), live.join('\n'));
  assert.ok(live.every((l) => l.length <= 60));
  for (const u of stream.slice(4)) p.update(u);
  p.done();
  const text = s.text();
  assert.match(text, /FINISHED/);
  assert.match(text, / => CACHED \/bin\/sh -c echo cached/);
  assert.ok(text.includes('\x1b[2K'), 'lines are cleared before redraw');
});

test('createProgress: tty only on terminals', () => {
  const s = sink();
  assert.instance(createProgress('auto', s.out), PlainPrinter);
  s.out.isTTY = true;
  assert.instance(createProgress('auto', s.out), TtyPrinter);
  assert.instance(createProgress('plain', s.out), PlainPrinter);
  const q = createProgress('quiet', s.out);
  for (const u of stream) q.update(u);
  assert.is(s.text(), '');
});

test.run();
