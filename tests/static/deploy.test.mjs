// compose.yaml, k8s/ and the Dockerfile agree with the code and with each
// other: only KEYPORT_* variables the tree knows, every service reachable at
// the address the others dial, health checks, non-root, valid Kubernetes
// objects (schemas of kubernetes-models, offline), selectors that select.
import test from 'node:test';
import assert from 'node:assert/strict';
import { read, envVarsRead } from './lib.mjs';

import { SERVICES, BINARIES, PORTS } from './lib.mjs';

test('the code reads the variables the deployment relies on', () => {
  for (const n of ['KEYPORT_DATABASE_URL', 'KEYPORT_LISTEN_URL', 'KEYPORT_HTTP_PORT',
    'KEYPORT_AUTH_URL', 'KEYPORT_ACTIVATION_URL'])
    assert.ok(envVarsRead().has(n), `${n} not read by any C source`);
  assert.deepEqual(Object.keys(PORTS).sort(), [...SERVICES].sort());
});

test('docs/deploy.md documents every KEYPORT_* variable the programs read', () => {
  const doc = read('docs/deploy.md');
  for (const n of envVarsRead()) assert.ok(doc.includes(`\`${n}\``), `${n} is read by the code but not documented in docs/deploy.md`);
  assert.ok(envVarsRead().has('KEYPORT_LEASE_SWEEP_MS'), 'the activation service reads KEYPORT_LEASE_SWEEP_MS');
});

// ---- Dockerfile ------------------------------------------------------------
test('Dockerfile: Debian 12 build stage, runtime without -dev, non-root', () => {
  const df = read('Dockerfile');
  const stages = df.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 2);
  assert.match(stages[0], /^debian:12/);
  assert.match(stages[0], /make .*build/);
  assert.match(stages[1], /^debian:12/);
  for (const lib of ['libnng1', 'libprotobuf-c1', 'libpq5', 'libmicrohttpd12', 'libjansson4', 'libsodium23', 'libcurl4'])
    assert.match(stages[1], new RegExp(`\\b${lib}\\b`), lib);
  assert.doesNotMatch(stages[1], /-dev\b|build-essential/);
  assert.match(stages[1], /COPY --from=build/);
  assert.match(stages[1], /^USER 10001/m);
  // pinned: an exact point release or a digest, never a moving tag
  for (const st of stages) assert.match(st, /^debian:12\.\d+-slim(@sha256:[0-9a-f]{64})? AS |^debian@sha256:[0-9a-f]{64} AS /, 'pinned base image');
  // a health check that fits whatever process the container runs
  assert.match(stages[1], /^HEALTHCHECK .*\n?.*CMD \["keyport-health"\]/m);
  assert.match(stages[1], /^COPY scripts\/container-health\.sh \/usr\/local\/bin\/keyport-health$/m);
  const health = read('scripts/container-health.sh');
  for (const b of BINARIES) assert.ok(health.includes(b), `keyport-health knows ${b}`);
  assert.match(health, /readyz\?scope=self/);
  // the portal's static files, where the gateway looks for them
  const webDir = /KEYPORT_WEB_DIR=(\S+)/.exec(stages[1])?.[1];
  assert.ok(webDir, 'ENV KEYPORT_WEB_DIR');
  assert.match(stages[1], new RegExp(`^COPY web/ ${webDir}/$`, 'm'), 'web/ copied to KEYPORT_WEB_DIR');
  const ign = read('.dockerignore');
  for (const p of ['build', 'node_modules', '.git']) assert.match(ign, new RegExp(`^${p.replace('.', '\\.')}$`, 'm'));
});

// ---- bench ----------------------------------------------------------------------
test('bench: the scripts parse and every lua script they name exists', async () => {
  const { existsSync, statSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { root } = await import('./lib.mjs');
  const main = join(root, 'scripts', 'bench.sh');
  assert.ok(statSync(main).mode & 0o100, 'scripts/bench.sh: executable');
  for (const f of [main, join(root, 'bench', 'seed.sh')]) execFileSync('bash', ['-n', f]);
  const named = [...read('scripts/bench.sh').matchAll(/bench\/lua\/([a-z_]+\.lua)/g)].map((m) => m[1]);
  assert.ok(named.includes('heartbeat.lua'));
  for (const l of named) assert.ok(existsSync(join(root, 'bench', 'lua', l)), `bench/lua/${l} is missing`);
});

// The runtime stage must carry every shared library the binaries link
// directly (readelf NEEDED -> dpkg -S). Needs the binaries: `make test` builds
// them before the lint; `make lint` on a clean tree skips this one.
test('Dockerfile: runtime packages cover the binaries\' shared libraries', async (t) => {
  const { existsSync, readdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const { root } = await import('./lib.mjs');
  const bin = join(root, process.env.BUILD || 'build', 'bin');
  if (!existsSync(bin) || readdirSync(bin).length === 0) {
    t.skip('no build/bin (run make build)');
    return;
  }
  const runtime = read('Dockerfile').split(/^FROM /m)[2];
  const libc = new Set(['libc6', 'libgcc-s1']);
  const missing = [];
  const owners = new Map();
  // the Debian package owning a library; with merged /usr, dpkg may know
  // it under /lib rather than /usr/lib
  const owner = (path) => {
    if (!owners.has(path)) {
      const real = execFileSync('readlink', ['-f', path], { encoding: 'utf8' }).trim();
      let pkg;
      for (const p of [real, real.replace(/^\/usr\/lib\//, '/lib/'), path]) {
        try {
          pkg = execFileSync('dpkg', ['-S', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split(':')[0];
          break;
        } catch { /* try the next spelling */ }
      }
      assert.ok(pkg, `no Debian package owns ${real}`);
      owners.set(path, pkg);
    }
    return owners.get(path);
  };
  for (const f of readdirSync(bin)) {
    const needed = [...execFileSync('readelf', ['-d', join(bin, f)], { encoding: 'utf8' })
      .matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    const ldd = execFileSync('ldd', [join(bin, f)], { encoding: 'utf8' });
    for (const so of needed) {
      // sanitizer runtimes: only `make SAN=1` builds link them, and those
      // never go into the image
      if (/^lib(asan|ubsan|lsan|tsan)\.so/.test(so)) continue;
      // the dynamic loader itself (named when a binary has thread-local
      // data, e.g. kp_offline's failure detail): part of libc6, which every
      // image has; ldd lists it without "=>"
      if (/^ld-linux/.test(so)) continue;
      const path = new RegExp(`^\\s*${so.replace(/[.+]/g, '\\$&')} => (\\S+)`, 'm').exec(ldd)?.[1];
      assert.ok(path, `${f}: ${so} not found by ldd`);
      const pkg = owner(path);
      if (!libc.has(pkg) && !new RegExp(`\\b${pkg}\\b`).test(runtime)) missing.push(`${f}: ${so} (${pkg})`);
    }
  }
  assert.deepEqual(missing, []);
});
