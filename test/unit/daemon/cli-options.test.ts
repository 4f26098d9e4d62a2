import { Command } from 'commander';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addCacheOptions, addDaemonOptions, cacheFromFlags, connectWithFlags, progressFromFlags } from '../../../src/daemon/cli-options';
import { PlainPrinter, TtyPrinter } from '../../../src/buildkit/progress';

function parse(args: string[]): Record<string, string> {
  let got: Record<string, string> = {};
  const program = new Command().exitOverride();
  addDaemonOptions(program.command('build')).action((o) => {
    got = o;
  });
  program.parse(['node', 'stapelkit', 'build', ...args]);
  return got;
}

test('daemon flags parse with buildctl names and a progress default', () => {
  assert.equal(parse([]), { progress: 'auto' });
  assert.equal(parse(['--addr', 'tcp://h:1', '--tlscacert', 'ca', '--tlscert', 'c', '--tlskey', 'k', '--progress', 'plain']), { addr: 'tcp://h:1', tlscacert: 'ca', tlscert: 'c', tlskey: 'k', progress: 'plain' });
  assert.throws(() => parse(['--progress', 'fancy']));
});

test('--cache-from/--cache-to repeat and become the solve cache entries', () => {
  let got: Record<string, any> = {};
  const program = new Command().exitOverride();
  addCacheOptions(program.command('build')).action((o) => {
    got = o;
  });
  program.parse(['node', 'stapelkit', 'build', '--cache-from', 'type=local,src=/c', '--cache-from', 'r/x:cache', '--cache-to', 'type=local,dest=/d,mode=max']);
  assert.equal(got, { cacheFrom: ['type=local,src=/c', 'r/x:cache'], cacheTo: ['type=local,dest=/d,mode=max'] });
  assert.equal(cacheFromFlags(got), {
    cacheImports: [{ type: 'local', attrs: { src: '/c' } }, { type: 'registry', attrs: { ref: 'r/x:cache' } }],
    cacheExports: [{ type: 'local', attrs: { dest: '/d', mode: 'max' } }],
  });
  assert.throws(() => cacheFromFlags({ cacheTo: ['type=local'] }), /--cache-to type=local: a local cache export needs dest=DIR/);
});

test('progressFromFlags picks the printer', () => {
  const out = Object.assign(new Writable({ write: (_c, _e, cb) => cb() }), { isTTY: true });
  assert.instance(progressFromFlags({ progress: 'plain' }, out), PlainPrinter);
  assert.instance(progressFromFlags({}, out), TtyPrinter);
  assert.throws(() => progressFromFlags({ progress: 'x' }, out), /--progress must be one of/);
});

test('connectWithFlags passes the TLS files on (missing ones are reported)', async () => {
  const e = await connectWithFlags({ addr: 'tcp://127.0.0.1:1', tlscacert: '/nonexistent/ca.pem' }).catch((x) => x);
  assert.is(e.code, 'TLS_FILES');
  assert.match(e.message, /CA certificate \/nonexistent\/ca\.pem/);
  const bad = await connectWithFlags({ addr: 'gopher://x' }).catch((x) => x);
  assert.is(bad.code, 'BAD_ADDRESS');
});

test.run();
