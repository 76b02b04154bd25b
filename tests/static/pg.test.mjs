// scripts/pg.sh leaves nothing behind: `make run`'s cluster lives under its
// data directory even as root under a directory `nobody` cannot enter (a
// clone in /root), so deleting the data directory frees every byte; and a
// cluster an older pg.sh put in /var/lib/keyport/pg-<hash> (DIR a link to
// it) is moved back under DIR on the next start. The leftover check is
// shown to catch the old layout when pg.sh does not run.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './lib.mjs';

const VLK = '/var/lib/keyport';
const asRoot = process.getuid() === 0;
const pgsh = (cmd, dir) => spawnSync(join(root, 'scripts/pg.sh'), [cmd, dir], { encoding: 'utf8', env: { ...process.env, PG_FAST: '1' } });
const listing = () => (existsSync(VLK) ? readdirSync(VLK).sort() : null);
const bytes = (p) => Number(spawnSync('du', ['-sb', p], { encoding: 'utf8' }).stdout.split('\t')[0]);

// What removing `parent` left: entries of /var/lib/keyport that were not
// there before, and processes still naming it.
function leftovers(parent, before) {
  const out = [];
  const now = listing();
  for (const e of now ?? []) if (!(before ?? []).includes(e)) out.push(`${VLK}/${e}`);
  const ps = spawnSync('pgrep', ['-f', parent], { encoding: 'utf8' });
  if (ps.stdout.trim()) out.push(`processes of ${parent}: ${ps.stdout.trim()}`);
  return out;
}

test('pg.sh: the cluster is under the data directory, and goes with it', () => {
  const parent = mkdtempSync(join(tmpdir(), 'kp-pg-'));
  chmodSync(parent, 0o700); // nobody cannot enter: the case of a clone in /root
  const dir = join(parent, 'var', 'pg');
  const before = listing();
  try {
    const r = pgsh('start', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(lstatSync(dir).isDirectory() && !lstatSync(dir).isSymbolicLink(), `${dir} is not a directory of its own`);
    assert.ok(existsSync(join(dir, 'data', 'PG_VERSION')));
    assert.equal(pgsh('status', dir).status, 0);
    assert.ok(bytes(parent) > 20e6, `the cluster's bytes are not under ${parent}: ${bytes(parent)}`);
    assert.deepEqual(listing(), before, `${VLK} changed`);
  } finally {
    pgsh('stop', dir);
    rmSync(parent, { recursive: true, force: true });
  }
  assert.deepEqual(leftovers(parent, before), []);
});

// The layout of the older pg.sh: the cluster nobody's, in
// /var/lib/keyport/pg-<name>, DIR a symbolic link to it.
function legacy(parent, name) {
  const target = join(VLK, `pg-${name}`);
  mkdirSync(target, { recursive: true, mode: 0o755 });
  chmodSync(VLK, 0o755);
  writeFileSync(join(target, 'password'), 'legacy-password-0123456789');
  spawnSync('chown', ['nobody', target, join(target, 'password')]);
  const pgbin = readdirSync('/usr/lib/postgresql').sort().map((v) => `/usr/lib/postgresql/${v}/bin`).pop();
  const init = spawnSync('runuser', ['-u', 'nobody', '--', `${pgbin}/initdb`, '-D', join(target, 'data'), '-U', 'keyport',
    '-E', 'UTF8', '--no-locale', '--auth=scram-sha-256', `--pwfile=${join(target, 'password')}`], { cwd: '/', encoding: 'utf8' });
  assert.equal(init.status, 0, init.stderr);
  writeFileSync(join(target, 'port'), String(20000 + Math.floor(Math.random() * 40000)));
  mkdirSync(join(parent, 'var'), { recursive: true });
  symlinkSync(target, join(parent, 'var', 'pg'));
  return target;
}

test('pg.sh: a cluster an older pg.sh left in /var/lib/keyport is moved back under the data directory', { skip: !asRoot && 'only root relocated clusters' }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'kp-pg-'));
  chmodSync(parent, 0o700);
  const dir = join(parent, 'var', 'pg');
  const before = listing();
  const target = legacy(parent, `kptest-${process.pid}`);
  try {
    const r = pgsh('start', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /moved the cluster from \/var\/lib\/keyport\/pg-kptest-/);
    assert.ok(!lstatSync(dir).isSymbolicLink() && lstatSync(dir).isDirectory());
    assert.equal(existsSync(target), false, `${target} is still there`);
    assert.equal(readFileSync(join(dir, 'password'), 'utf8'), 'legacy-password-0123456789', 'not the same cluster');
    assert.equal(pgsh('status', dir).status, 0);
    assert.match(pgsh('url', dir).stdout, /^postgresql:\/\/keyport:legacy-password-0123456789@127\.0\.0\.1:\d+\/keyport$/m);
  } finally {
    pgsh('stop', dir);
    rmSync(parent, { recursive: true, force: true });
  }
  assert.deepEqual(leftovers(parent, before), []);
});

test('pg.sh: the leftover check sees the old layout when nothing moves it (the check can fail)', { skip: !asRoot && 'only root relocated clusters' }, () => {
  const parent = mkdtempSync(join(tmpdir(), 'kp-pg-'));
  const before = listing();
  const target = legacy(parent, `kptest-old-${process.pid}`);
  rmSync(parent, { recursive: true, force: true }); // what deleting var/ did
  try {
    assert.deepEqual(leftovers(parent, before), [target]);
    assert.ok(bytes(target) > 20e6);
  } finally {
    rmSync(target, { recursive: true, force: true });
    if (before === null) try { rmdirSync(VLK); } catch { /* another run's */ }
  }
  assert.deepEqual(leftovers(parent, before), []);
});
