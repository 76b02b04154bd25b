// scripts/k8s-init.sh, the one-time init step of k8s/: the Secrets it
// writes are valid, hold exactly what each process reads (kp_bus.c: one
// identity's certificate, its pair keys and its callers'; auth's keys in
// libsodium's form; the master and link keys), never the CA key, do not
// change when it runs again, and rotate-auth-key adds a key and drops old
// ones. Then the real thing: the Secrets laid out as the kubelet mounts
// them (..data symlinks), auth, org and the gateway started on them (with
// the password from PGPASSWORD, as in the pods) find each other over the
// bus, and a login through the gateway is signed with k8s-init's key.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, SERVICES } from './lib.mjs';
import { k8sInit, readInit } from './k8s-lib.mjs';

const IDS = ['gateway', ...SERVICES];
const script = join(root, 'scripts/k8s-init.sh');
const run = (args) => spawnSync(script, args, { encoding: 'utf8' });

test('k8s-init: the Secrets, each with the files its process reads', () => {
  const init = k8sInit(['--admin-email', 'ops@vendor.example', '--namespace', 'kp-test']);
  try {
    const names = Object.keys(init.secrets).sort();
    assert.deepEqual(names, ['keyport-admin', 'keyport-auth-keys', ...IDS.map((i) => `keyport-bus-${i}`),
      'keyport-db', 'keyport-license-master', 'keyport-release-links'].sort());
    for (const o of init.objects) assert.equal(o.metadata.namespace, 'kp-test');
    const db = init.secrets['keyport-db'];
    assert.equal(db.type, 'kubernetes.io/basic-auth');
    assert.equal(db.values.username, 'keyport');
    assert.ok(db.values.password.length >= 24 && !/\s/.test(db.values.password));
    assert.equal(init.secrets['keyport-admin'].values.email, 'ops@vendor.example');
    assert.ok(init.secrets['keyport-admin'].values.password.length >= 24);
    assert.equal(init.secrets['keyport-license-master'].raw['license-master.key'].length, 32);
    assert.equal(init.secrets['keyport-release-links'].raw['release-links.key'].length, 32);
    // bus: exactly one identity's files (kp_bus_init, kp_bus_load_callers)
    const caKey = readFileSync(join(init.dir, 'bus/ca/ca.key'));
    for (const idn of IDS) {
      const s = init.secrets[`keyport-bus-${idn}`];
      const want = ['ca.crt', 'gateway-caller.pub', `${idn}.pem`, ...SERVICES.map((t) => `${idn}-${t}.key`)];
      if (idn !== 'gateway') for (const from of IDS) want.push(`${from}-${idn}.key`);
      if (idn === 'gateway') want.push('gateway-caller.seed');
      assert.deepEqual(s.keys.sort(), [...new Set(want)].sort(), idn);
      for (const [k, v] of Object.entries(s.raw)) {
        if (k.endsWith('.key') || k.startsWith('gateway-caller')) assert.equal(v.length, 32, `${idn}: ${k}`);
        assert.ok(!v.includes(caKey), `${idn}: ${k} holds the CA key`);
      }
      const subj = spawnSync('openssl', ['x509', '-noout', '-subject'], { input: s.raw[`${idn}.pem`], encoding: 'utf8' });
      assert.match(subj.stdout, new RegExp(`CN ?= ?${idn}\\b`), idn);
      assert.match(s.values[`${idn}.pem`], /PRIVATE KEY/);
      // the pair key of a sender is the one the receiver holds
      for (const t of idn === 'gateway' ? [] : IDS)
        assert.deepEqual(init.secrets[`keyport-bus-${t}`].raw[`${t}-${idn}.key`], s.raw[`${t}-${idn}.key`]);
    }
    // auth: <kid>.key, 64 bytes: an Ed25519 seed and its public key
    const keys = init.secrets['keyport-auth-keys'];
    assert.equal(keys.keys.length, 1);
    assert.match(keys.keys[0], /^\d{14}-[0-9a-f]{8}\.key$/);
    const sk = keys.raw[keys.keys[0]];
    assert.equal(sk.length, 64);
    const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), sk.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    assert.deepEqual(createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32), sk.subarray(32));
  } finally {
    init.cleanup();
  }
});

test('k8s-init: running it again changes nothing; rotate-auth-key adds one key and keeps two', () => {
  const init = k8sInit();
  try {
    const first = readFileSync(join(init.dir, 'secrets.yaml'));
    assert.equal(run(['init', init.dir]).status, 0);
    assert.deepEqual(readFileSync(join(init.dir, 'secrets.yaml')), first, 'a second init changed the Secrets');
    const kids = () => readInit(init.dir).secrets['keyport-auth-keys'].keys.sort();
    const k0 = kids();
    for (let i = 0; i < 3; i++) {
      spawnSync('sleep', ['1']);
      assert.equal(run(['rotate-auth-key', init.dir]).status, 0);
    }
    const k3 = kids();
    assert.equal(k3.length, 2);
    assert.ok(!k3.includes(k0[0]), 'the oldest key was kept');
    assert.ok(k3[1] > k3[0]);
    const after = readInit(init.dir).secrets;
    assert.deepEqual(after['keyport-license-master'].raw, init.secrets['keyport-license-master'].raw, 'rotation touched the master key');
  } finally {
    init.cleanup();
  }
});

test('k8s-init: refuses a first run without the admin email, and bad arguments (the check can fail)', () => {
  const d = mkdtempSync(join(tmpdir(), 'kp-k8s-init-'));
  try {
    const r = run(['init', join(d, 'x')]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--admin-email is needed/);
    assert.equal(existsSync(join(d, 'x', 'secrets.yaml')), false);
    assert.equal(run(['init', join(d, 'y'), '--bogus']).status, 2);
    assert.notEqual(run(['rotate-auth-key', join(d, 'z')]).status, 0);
    writeFileSync(join(d, 'pw'), 'managed-db-password\n');
    assert.equal(run(['init', join(d, 'w'), '--admin-email', 'a@b.example', '--db-password-file', join(d, 'pw')]).status, 0);
    assert.equal(readInit(join(d, 'w')).secrets['keyport-db'].values.password, 'managed-db-password');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

// ---- the Secrets in use --------------------------------------------------
// A Secret volume as the kubelet writes it: the files in a timestamped
// directory, ..data pointing at it, and one symlink per key.
function mountSecret(dir, secret) {
  mkdirSync(join(dir, '..2026_12_03_12_00_00.000000001'), { recursive: true });
  for (const [k, v] of Object.entries(secret.raw)) writeFileSync(join(dir, '..2026_12_03_12_00_00.000000001', k), v, { mode: 0o440 });
  symlinkSync('..2026_12_03_12_00_00.000000001', join(dir, '..data'));
  for (const k of Object.keys(secret.raw)) symlinkSync(join('..data', k), join(dir, k));
}

const freePort = () => new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('k8s-init: auth, org and the gateway run on its Secrets and find each other', async (t) => {
  const bin = process.env.KEYPORT_BIN_DIR || join(root, process.env.BUILD || 'build', 'bin');
  if (!existsSync(join(bin, 'keyport-gateway'))) {
    t.skip('no binaries in build/bin (make builds them before make test runs this)');
    return;
  }
  const init = k8sInit();
  const work = mkdtempSync(join(tmpdir(), 'kp-k8s-run-'));
  const procs = [];
  const pg = join(work, 'pg');
  const pgsh = (cmd) => spawnSync(join(root, 'scripts/pg.sh'), [cmd, pg], { encoding: 'utf8', env: { ...process.env, PG_FAST: '1' } });
  try {
    assert.equal(pgsh('start').status, 0, 'PostgreSQL');
    const url = new URL(pgsh('url').stdout.trim());
    // the cluster's keyport password becomes the Secret's, as in the pods
    const pgpassword = decodeURIComponent(url.password);
    url.password = '';
    const ports = {};
    for (const s of [...IDS, 'http']) ports[s] = await freePort();
    const common = {
      PATH: process.env.PATH,
      KEYPORT_LOG_LEVEL: 'info',
      KEYPORT_DB_WAIT_SECONDS: '30',
      KEYPORT_SECRET_DIR: join(work, 'secrets'),
      KEYPORT_BUS_DIR: '', // per process below
      ...Object.fromEntries(SERVICES.map((s) => [`KEYPORT_${s.toUpperCase()}_URL`, `tls+tcp://127.0.0.1:${ports[s]}`])),
    };
    for (const idn of IDS) mountSecret(join(work, `bus-${idn}`), init.secrets[`keyport-bus-${idn}`]);
    mkdirSync(join(work, 'secrets'));
    mountSecret(join(work, 'secrets', 'auth-keys'), init.secrets['keyport-auth-keys']);
    mountSecret(join(work, 'admin'), init.secrets['keyport-admin']);
    const env = {
      auth: { KEYPORT_AUTH_KEY_ROTATION: 'external', KEYPORT_DATA_DIR: join(work, 'auth-data'),
        KEYPORT_ADMIN_EMAIL: init.secrets['keyport-admin'].values.email, KEYPORT_ADMIN_PASSWORD_FILE: join(work, 'admin', 'password') },
      org: {},
      gateway: { KEYPORT_HTTP_PORT: String(ports.http), KEYPORT_WEB_DIR: join(root, 'web'), KEYPORT_DATA_DIR: join(work, 'gw-data') },
    };
    const start = (idn) => {
      const e = { ...common, ...env[idn], KEYPORT_BUS_DIR: join(work, `bus-${idn}`) };
      if (idn !== 'gateway') Object.assign(e, { KEYPORT_DATABASE_URL: url.toString(), PGPASSWORD: pgpassword, KEYPORT_LISTEN_URL: `tls+tcp://127.0.0.1:${ports[idn]}` });
      const p = spawn(join(bin, `keyport-${idn}`), [], { env: e, stdio: ['ignore', 'ignore', 'pipe'] });
      p.log = '';
      p.stderr.on('data', (d) => { p.log += d; });
      procs.push(p);
      return { env: e, p };
    };
    const auth = start('auth');
    const org = start('org');
    start('gateway');
    const readyz = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${ports.http}/readyz`);
        return await r.json();
      } catch { return null; }
    };
    let body = null;
    for (let i = 0; i < 300; i++) {
      body = await readyz();
      if (body?.services?.auth === 'ok' && body?.services?.org === 'ok') break;
      await sleep(100);
    }
    assert.equal(body?.services?.auth, 'ok', `auth over the bus: ${JSON.stringify(body)}\n${procs.map((p) => p.log).join('\n')}`);
    assert.equal(body?.services?.org, 'ok', `org over the bus: ${JSON.stringify(body)}`);
    // the probes of the pods, on the same files
    for (const [svc, x] of [['auth', auth], ['org', org]])
      for (const mode of ['live', 'ready'])
        assert.equal(spawnSync(join(bin, `keyport-${svc}`), ['--probe', mode], { env: x.env }).status, 0, `${svc} --probe ${mode}`);
    // a login through the gateway, signed with k8s-init's key
    const r = await fetch(`http://127.0.0.1:${ports.http}/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: init.secrets['keyport-admin'].values.email, password: init.secrets['keyport-admin'].values.password }),
    });
    const j = await r.json();
    assert.equal(r.status, 200, JSON.stringify(j));
    const header = JSON.parse(Buffer.from(j.accessToken.split('.')[0], 'base64url'));
    assert.equal(`${header.kid}.key`, init.secrets['keyport-auth-keys'].keys[0]);
    assert.deepEqual(readdirSync(join(work, 'secrets', 'auth-keys')).sort(), ['..2026_12_03_12_00_00.000000001', '..data', ...init.secrets['keyport-auth-keys'].keys].sort(), 'auth wrote into its Secret');
    // another identity's Secret does not do: org refuses to start
    const wrong = spawnSync(join(bin, 'keyport-org'), [], { env: { ...org.env, KEYPORT_BUS_DIR: join(work, 'bus-auth') }, encoding: 'utf8', timeout: 20000 });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /no credentials for 'org'/);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((r) => p.on('exit', r)))));
    pgsh('stop');
    rmSync(work, { recursive: true, force: true });
    init.cleanup();
  }
});
