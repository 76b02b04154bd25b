// The services through a connection pooler, as in the production overlay
// (CloudNativePG's Pooler: PgBouncer in session mode, which drops the
// `options` startup parameter: ignore_startup_parameters =
// extra_float_digits,options). Debian's PgBouncer with those settings in
// front of a private PostgreSQL: it is shown to drop the schema given as a
// startup option, and org, started through it, still migrates into and
// serves from its own schema (kp_db sets search_path by a statement), with
// the password from PGPASSWORD as in the pods.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, SERVICES } from './lib.mjs';

const freePort = () => new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pgbin = readdirSync('/usr/lib/postgresql').sort().map((v) => `/usr/lib/postgresql/${v}/bin`).pop();
// PgBouncer, like PostgreSQL, refuses to run as root: as pg.sh does, root
// runs it in a user namespace as an unprivileged user
const asUser = (cmd, args) => (process.getuid() === 0
  ? ['unshare', ['--user', '--map-user=65534', '--map-group=65534', '--', cmd, ...args]]
  : [cmd, args]);

test('pooler: through PgBouncer (session, options dropped) a service keeps its own schema', async (t) => {
  const bin = process.env.KEYPORT_BIN_DIR || join(root, process.env.BUILD || 'build', 'bin');
  if (!existsSync(join(bin, 'keyport-org'))) {
    t.skip('no binaries in build/bin (make builds them before make test runs this)');
    return;
  }
  assert.ok(existsSync('/usr/sbin/pgbouncer'), 'pgbouncer is needed (scripts/deps.sh installs it)');
  const work = mkdtempSync(join(tmpdir(), 'kp-pooler-'));
  chmodSync(work, 0o755);
  const pg = join(work, 'pg');
  const pgsh = (cmd) => spawnSync(join(root, 'scripts/pg.sh'), [cmd, pg], { encoding: 'utf8', env: { ...process.env, PG_FAST: '1' } });
  const procs = [];
  try {
    assert.equal(pgsh('start').status, 0, 'PostgreSQL');
    const direct = new URL(pgsh('url').stdout.trim());
    const password = decodeURIComponent(direct.password);
    const bport = await freePort();
    writeFileSync(join(work, 'userlist.txt'), `"keyport" "${password}"\n`);
    writeFileSync(join(work, 'pgbouncer.ini'), [
      '[databases]', `* = host=127.0.0.1 port=${direct.port}`,
      '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${bport}`, 'unix_socket_dir =',
      'auth_type = scram-sha-256', `auth_file = ${join(work, 'userlist.txt')}`,
      'pool_mode = session', 'ignore_startup_parameters = extra_float_digits,options',
      'max_client_conn = 200', 'default_pool_size = 40',
      `logfile = ${join(work, 'pgbouncer.log')}`, `pidfile = ${join(work, 'pgbouncer.pid')}`, '',
    ].join('\n'));
    const [bc, ba] = asUser('/usr/sbin/pgbouncer', [join(work, 'pgbouncer.ini')]);
    const bouncer = spawn(bc, ba, { stdio: 'ignore', cwd: '/' });
    procs.push(bouncer);
    const psql = (port, sql, opts = '') => spawnSync(`${pgbin}/psql`, ['-qAt', '-h', '127.0.0.1', '-p', String(port), '-U', 'keyport', '-d', 'keyport', '-c', sql],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: password, PGOPTIONS: opts } });
    let r;
    for (let i = 0; i < 100; i++) {
      r = psql(bport, 'SELECT 1');
      if (r.status === 0) break;
      await sleep(100);
    }
    assert.equal(r.status, 0, `pgbouncer: ${r.stderr}`);
    // what the pooler does to a schema given at connection time
    assert.equal(psql(direct.port, 'SHOW search_path', '-c search_path=org').stdout.trim(), 'org');
    assert.notEqual(psql(bport, 'SHOW search_path', '-c search_path=org').stdout.trim(), 'org', 'this PgBouncer kept the option: the test proves nothing');

    // org through the pooler, configured as in the pods
    const ports = {};
    for (const s of SERVICES) ports[s] = await freePort();
    assert.equal(spawnSync(join(root, 'scripts/bus-certs.sh'), ['init', join(work, 'bus')]).status, 0);
    const env = {
      PATH: process.env.PATH,
      KEYPORT_DATABASE_URL: `postgresql://keyport@127.0.0.1:${bport}/keyport`,
      PGPASSWORD: password,
      KEYPORT_BUS_DIR: join(work, 'bus'),
      KEYPORT_DB_WAIT_SECONDS: '30',
      KEYPORT_LISTEN_URL: `tls+tcp://127.0.0.1:${ports.org}`,
      ...Object.fromEntries(SERVICES.map((s) => [`KEYPORT_${s.toUpperCase()}_URL`, `tls+tcp://127.0.0.1:${ports[s]}`])),
    };
    const org = spawn(join(bin, 'keyport-org'), [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    org.log = '';
    org.stderr.on('data', (d) => { org.log += d; });
    procs.push(org);
    let ready = 1;
    for (const end = Date.now() + 40000; ready !== 0 && org.exitCode === null && Date.now() < end;) {
      ready = spawnSync(join(bin, 'keyport-org'), ['--probe', 'ready'], { env, timeout: 10000 }).status;
      if (ready !== 0) await sleep(100);
    }
    assert.equal(ready, 0, `org through the pooler is not ready:\n${org.log}`);
    const tables = (schema) => Number(psql(direct.port, `SELECT count(*) FROM information_schema.tables WHERE table_schema = '${schema}'`).stdout.trim());
    assert.ok(tables('org') > 0, 'org migrated nothing into its schema');
    assert.equal(tables('public'), 0, 'org wrote into public: the schema was lost in the pooler');
    // and its connections did go through the pooler
    assert.ok(Number(psql(direct.port, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keyport'").stdout.trim()) > 0);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? null : new Promise((res) => p.on('exit', res)))));
    pgsh('stop');
    rmSync(work, { recursive: true, force: true });
  }
});
