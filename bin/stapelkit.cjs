#!/usr/bin/env node
// bin/stapelkit (a shell script) runs this; `node bin/stapelkit.cjs` works too.
// Runs the bundled CLI (dist/stapelkit.js, from `make build`) when it is not older than the tsc
// output, else the compiled dist/src, else the TypeScript sources through tsx.
//
// The bundle is compiled with a V8 code cache: the first run of each command writes
// dist/.v8-cache/<command>.<bundle size>.<bundle mtime>.bin (the functions that run compiled;
// stapelkit-rpc.js, grpc-js and protobufjs, loaded on the first gRPC call, has stapelkit-rpc.<command>…),
// later runs skip compiling them. A cache V8 rejects (another Node or other flags) is rewritten.
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'stapelkit.js');
const compiled = path.join(root, 'dist', 'src', 'cli', 'main.js');

function mtimeMs(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The bundle as a CommonJS module of its own, compiled with (and maybe leaving behind) a code cache. */
function loadBundle(file) {
  const vm = require('vm');
  const Module = require('module');
  // An ASCII bundle (scripts/bundle.ts makes one) is read as a one-byte string, without UTF-8 decoding.
  const bytes = fs.readFileSync(file);
  const source = require('buffer').isAscii(bytes) ? bytes.latin1Slice(0, bytes.length) : bytes.toString('utf8');
  const st = fs.statSync(file);
  const first = process.argv.slice(2).find((a) => !a.startsWith('-'));
  const command = first && /^[a-z][a-z-]{0,31}$/.test(first) ? first : 'other';
  const cacheFile = path.join(path.dirname(file), '.v8-cache', `${path.basename(file) === 'stapelkit.js' ? '' : `${path.basename(file, '.js')}.`}${command}.${st.size}.${Math.trunc(st.mtimeMs)}.bin`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    /* first run of this command */
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        /* a read-only install runs without a cache */
      }
    });
  }
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  const req = Module.createRequire(file);
  script.runInThisContext().call(m.exports, m.exports, req, m, file, path.dirname(file));
  m.loaded = true;
  return m.exports;
}

let cli;
let bundledRpc;
const bundleTime = mtimeMs(bundle);
const compiledTime = mtimeMs(compiled);
// Stack traces (--debug, --log-debug, $WERF_LOG_DEBUG as debugRequested reads them) name the real
// source files: the compiled tree, not the bundle.
const debug = process.argv.includes('--debug') || process.argv.includes('--log-debug') || ['1', 'true', 'yes'].includes(process.env.WERF_LOG_DEBUG);
if (bundleTime !== undefined && (compiledTime === undefined || bundleTime >= compiledTime) && !(debug && compiledTime !== undefined)) {
  cli = loadBundle(bundle);
  // grpc-js and protobufjs (a bundle of their own, cached the same way) and proto/ as JSON, made
  // with this bundle: for the first gRPC call (src/util/rpc-deps.ts).
  const rpc = path.join(root, 'dist', 'stapelkit-rpc.js');
  const protoJson = path.join(root, 'dist', 'proto.json');
  if (fs.existsSync(rpc) && fs.existsSync(protoJson)) bundledRpc = { load: () => loadBundle(rpc).rpc, protoJson };
} else if (compiledTime !== undefined) {
  cli = require(compiled);
} else {
  require(require.resolve('tsx/cjs', { paths: [root] }));
  cli = require(path.join(root, 'src', 'cli', 'main.ts'));
}
// The CA file bin/stapelkit kept from Node's start-up: our TLS connections load it when they are
// made; child processes get it back under its own name.
const deferredCaCerts = process.env.STAPELKIT_DEFERRED_CA_CERTS;
if (deferredCaCerts !== undefined) {
  delete process.env.STAPELKIT_DEFERRED_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = deferredCaCerts;
}
cli.main(process.argv, { deferredCaCerts, bundledRpc }).then((code) => { process.exitCode = code; });
