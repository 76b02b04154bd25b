// The customer portal end to end, in headless Chromium (Debian's chromium,
// driven by playwright-core) against a stack started with scripts/run.sh.
// Controls are found as a person finds them: by label, role and text. Every
// page is screenshot, desktop and phone, into build/screenshots/, checked
// with axe (no serious or critical violation), and checked for sideways
// scrolling at 375 pixels. The figures (sign-in page weight, render time of
// 50 licenses) are printed, never asserted on time.
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { startStack, client, root } from './stack.mjs';

const SHOTS = join(root, process.env.BUILD || 'build', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let stack, api, browser, admin, seed, base;

async function login(email, password) {
  return (await api('POST', '/v1/auth/login', null, { email, password })).accessToken;
}

before(async () => {
  // this run's screenshots only
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  api = client(stack.url);
  // the vendor's custom domain is "localhost": the browser opens the portal
  // there, so the vendor's brand shows (the API calls of the tests use the
  // address)
  base = stack.url.replace('127.0.0.1', 'localhost');
  admin = await login(stack.admin.email, stack.admin.password);
  const product = await api('POST', '/v1/products', admin, { name: 'Photon Studio' });
  const other = await api('POST', '/v1/products', admin, { name: 'Other Product' });
  const org = await api('POST', '/v1/organizations', admin, { name: 'Acme Corp', email: 'it@acme.example', allowedUsers: 10 });
  const mk = (email, firstName, role) =>
    api('POST', '/v1/users', admin, { email, password: 'Portal-pass-1', firstName, lastName: 'Tester', role, organizationId: org.id });
  const orgAdmin = await mk('olivia@acme.example', 'Olivia', 'organization-admin');
  const user = await mk('ana@acme.example', 'Ana', 'user');
  const lic = (extra) =>
    api('POST', '/v1/licenses', admin, { productId: product.id, type: 'node-locked', allowedActivations: 3, allowedDeactivations: 2, validity: 86400 * 365, ...extra });
  const own = await lic({ userId: user.id });
  const groupLic = await lic({ organizationId: org.id });
  for (let i = 0; i < 49; i++) await lic({ organizationId: org.id, metadata: { seat: String(i) } });
  // a machine on the user's license, to free from the portal
  await api('POST', '/v1/activations', null, { key: own.key, productId: product.id, fingerprint: 'f'.repeat(64), hostname: 'ana-laptop', os: 'linux', osVersion: '6.1', appVersion: '2.0.0' });
  // a published release with a file, and one of another product
  const rel = await api('POST', '/v1/releases', admin, { productId: product.id, name: 'Photon 2.1', version: '2.1.0', platform: 'linux-x86_64', notes: 'Faster exports.' });
  const bytes = Buffer.from('photon-studio-2.1.0 release bytes\n'.repeat(200));
  const file = await api('POST', `/v1/releases/${rel.id}/files?name=photon-2.1.0.tar.gz`, admin, undefined, bytes);
  await api('POST', `/v1/releases/${rel.id}/publish`, admin);
  const orel = await api('POST', '/v1/releases', admin, { productId: other.id, name: 'Other 1.0', version: '1.0.0', platform: 'linux-x86_64' });
  await api('POST', `/v1/releases/${orel.id}/publish`, admin);
  // the vendor's brand, on every page and in every title
  await api('PUT', '/v1/settings/customization', admin, { portalName: 'Acme Licensing', customDomain: 'localhost' });
  // Kim: the throttled email and the address another account already uses
  const kim = await mk('kim@acme.example', 'Kim', 'user');
  const dana = await mk('dana@acme.example', 'Dana', 'user');
  await api('PATCH', `/v1/users/${dana.id}`, admin, { disabled: true });
  const lee = await mk('lee@acme.example', 'Lee', 'user');
  const max = await mk('max@acme.example', 'Max', 'user');
  // Max's license allows no seat release; one machine is on it
  const noRelease = await lic({ userId: max.id, allowedDeactivations: 0 });
  await api('POST', '/v1/activations', null, { key: noRelease.key, productId: product.id, fingerprint: 'e'.repeat(64), hostname: 'max-desktop', os: 'windows', osVersion: '11', appVersion: '2.0.0' });
  // filters: one suspended license and one of another product
  const suspended = await lic({ organizationId: org.id });
  await api('POST', `/v1/licenses/${suspended.id}/suspend`, admin, {});
  const otherLic = await api('POST', '/v1/licenses', admin, { productId: other.id, type: 'node-locked', allowedActivations: 1, allowedDeactivations: 1, validity: 86400 * 30, organizationId: org.id });
  // an organization at its cap of two users
  const tiny = await api('POST', '/v1/organizations', admin, { name: 'Tiny Works', email: 'it@tiny.example', allowedUsers: 2 });
  const mkTiny = (email, role) => api('POST', '/v1/users', admin, { email, password: 'Portal-pass-1', firstName: 'Tia', lastName: 'Tiny', role, organizationId: tiny.id });
  await mkTiny('tia@tiny.example', 'organization-admin');
  await mkTiny('tom@tiny.example', 'user');
  seed = { product, other, org, orgAdmin, user, own, groupLic, rel, file, bytes, kim, dana, lee, max, noRelease, suspended, otherLic };
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

async function newPage(width = 1280, height = 800) {
  const ctx = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

async function signIn(page, email, password = 'Portal-pass-1') {
  await page.goto(base + '/');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Licenses', level: 1 }).waitFor();
}

// Screenshots (desktop and phone), axe, sideways scrolling and token storage
// for the page at path, as the page's current user.
async function check(page, name) {
  await page.waitForLoadState('networkidle');
  // a full-page screenshot of a scrolled page draws the fixed bars mid-page
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  const axe = await new AxeBuilder({ page }).analyze();
  const bad = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${name}: axe`);
  const title = await page.title();
  assert.match(title, /Acme Licensing/, `${name}: the brand in the title`);
  await page.getByText('Acme Licensing').first().waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  const storage = await page.evaluate(() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie]));
  assert.ok(!/eyJ|kp_|refresh|token/i.test(storage), `${name}: script-readable storage holds ${storage}`);
  // the phone: the same page at 375 pixels, so the state on screen (an
  // error, a dialog's result) is the one photographed
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 740 });
  await page.waitForTimeout(300);
  await page.evaluate(() => scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  const [sw, iw] = await page.evaluate(() => [document.scrollingElement.scrollWidth, innerWidth]);
  await page.setViewportSize(desktop);
  assert.ok(sw <= iw, `${name}: scrolls sideways at 375 px (${sw} > ${iw})`);
  assert.deepEqual(page.errors, [], `${name}: script errors`);
}

test('sign-in: the page, its weight and its three failures', async () => {
  const page = await newPage();
  let bytes = 0;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
  await page.goto(base + '/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.waitForLoadState('networkidle');
  console.log(`portal: the sign-in page transferred ${(bytes / 1024).toFixed(1)} KB (compressed, every request)`);
  await check(page, 'sign-in');
  await page.getByLabel('Email').fill('ana@acme.example');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /That email and password don.t match/ }).waitFor();
  await check(page, 'sign-in-error');
  // an unknown email reads the same
  await page.getByLabel('Email').fill('nobody@acme.example');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /That email and password don.t match/ }).waitFor();

  // throttling: five failures for one email (the per-email limit), then the
  // right password is refused with the wait from Retry-After
  for (let i = 0; i < 5; i++) await assert.rejects(api('POST', '/v1/auth/login', null, { email: 'kim@acme.example', password: 'wrong-pass-1' }), /401/);
  await page.getByLabel('Email').fill('kim@acme.example');
  await page.getByLabel('Password').fill('Portal-pass-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /Too many attempts\. Try again in 1[45] minutes\./ }).waitFor();
  await check(page, 'sign-in-throttled');

  // a disabled account: the same answer as wrong credentials (no account
  // probing), and the sentence that says what to do
  await page.getByLabel('Email').fill('dana@acme.example');
  await page.getByLabel('Password').fill('Portal-pass-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: /If your account was disabled, ask your organization's administrator to enable it\./ }).waitFor();
  await page.context().close();
});

test('a session that ends: back to sign-in with a message, then the page that was open', async () => {
  const page = await newPage();
  await signIn(page, 'lee@acme.example');
  // the navigation moves inside the page: no document load
  await page.evaluate(() => (window.kpSameDocument = true));
  await page.getByRole('link', { name: 'Releases' }).click();
  await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
  assert.equal(await page.evaluate(() => window.kpSameDocument), true, 'a click in the navigation reloaded the page');
  // the vendor disables Lee: the gateway refuses the access token within
  // its revocation interval, and the refresh that follows fails
  await api('PATCH', `/v1/users/${seed.lee.id}`, admin, { disabled: true });
  const signInHeading = page.getByRole('heading', { name: 'Sign in' });
  for (let i = 0; i < 60 && !(await signInHeading.isVisible()); i++) {
    await page.getByRole('link', { name: i % 2 ? 'Releases' : 'Licenses' }).click().catch(() => {});
    await page.waitForTimeout(500);
  }
  await page.getByText('Your session has ended. Sign in again to continue.').waitFor();
  const wanted = new URL(page.url()).searchParams.get('next');
  assert.ok(wanted === '/licenses' || wanted === '/releases', `the page that was open is kept: ${page.url()}`);
  // let the requests of the page that was open settle (they were refused)
  await page.waitForTimeout(2000);
  await check(page, 'sign-in-session-ended');
  await api('PATCH', `/v1/users/${seed.lee.id}`, admin, { disabled: false });
  await page.getByLabel('Email').fill('lee@acme.example');
  await page.getByLabel('Password').fill('Portal-pass-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === wanted);
  await page.getByRole('heading', { name: wanted === '/licenses' ? 'Licenses' : 'Releases', level: 1 }).waitFor();
  await page.context().close();
});

test('a user: licenses, detail, freeing a seat, releases, profile, no admin pages, sign-out', async () => {
  const page = await newPage();
  await signIn(page, 'ana@acme.example');
  assert.match(await page.title(), /Licenses/);
  const row = page.getByRole('row').filter({ hasText: seed.own.key });
  await row.waitFor();
  await assert.rejects(page.getByText(seed.groupLic.key).waitFor({ timeout: 1000 }));
  await check(page, 'licenses-user');

  // detail and freeing a seat, through the confirmation dialog
  await page.getByRole('link', { name: `License ${seed.own.key}` }).click();
  await page.getByRole('heading', { name: seed.own.key }).waitFor();
  await page.getByText('ana-laptop').waitFor();
  await check(page, 'license-detail');
  await page.getByRole('button', { name: 'Free the seat of ana-laptop' }).click();
  const dialog = page.getByRole('dialog', { name: 'Free this seat?' });
  await dialog.waitFor();
  await page.screenshot({ path: join(SHOTS, 'license-free-seat-dialog-desktop.png') });
  await dialog.getByRole('button', { name: 'Free this seat' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('heading', { name: 'No machines yet' }).waitFor();
  const acts = await api('GET', `/v1/licenses/${seed.own.id}/activations`, admin);
  const items = acts.items || acts;
  assert.ok(items.every((a) => a.deactivatedAt), 'the seat was freed');

  // releases: the product's, downloaded through the signed link
  await page.getByRole('link', { name: 'Releases' }).click();
  await page.getByText('Photon 2.1').first().waitFor();
  await assert.rejects(page.getByText('Other 1.0').waitFor({ timeout: 1000 }));
  await check(page, 'releases');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download photon-2.1.0.tar.gz' }).click(),
  ]);
  const got = readFileSync(await download.path());
  assert.ok(got.equals(seed.bytes), 'the downloaded bytes are the release file');

  // profile: a change survives a reload (the silent sign-in by cookie)
  await page.goto(base + '/profile');
  await page.getByLabel('First name').waitFor();
  await page.getByLabel('First name').fill('Anabel');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.getByText(/saved/i).first().waitFor();
  await page.reload();
  await page.getByLabel('First name').waitFor();
  assert.equal(await page.getByLabel('First name').inputValue(), 'Anabel');
  await page.getByText('At least 8 characters').waitFor();
  await check(page, 'profile');

  // the admin pages do not exist for a plain user
  assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0);
  await page.goto(base + '/organization/users');
  await page.getByText(/not found/i).first().waitFor();
  await check(page, 'not-found');

  // sign-out holds after a reload
  await page.getByRole('button', { name: /account menu/ }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.context().close();
});

test('an organization admin: users, a group that gives a member a license, the organization licenses', async () => {
  const page = await newPage();
  await signIn(page, 'olivia@acme.example');
  const start = Date.now();
  await page.getByRole('row').nth(25).waitFor();
  console.log(`portal: a page of licenses rendered ${Date.now() - start} ms after sign-in`);
  await check(page, 'licenses-org-admin');
  // 50 per page: the time from the API's answer to the rows in the page
  const ms = await page.evaluate(async () => {
    const sel = document.getElementById('lic-limit');
    let answered = 0;
    const orig = window.fetch;
    window.fetch = async (...a) => {
      const r = await orig(...a);
      if (String(a[0]).includes('/v1/me/licenses')) answered = performance.now();
      return r;
    };
    sel.value = '50';
    sel.dispatchEvent(new Event('change', { bubbles: true }));
    for (let i = 0; i < 500; i++) {
      await new Promise((r) => requestAnimationFrame(r));
      if (answered && document.querySelectorAll('tbody tr').length >= 50) return performance.now() - answered;
    }
    return -1;
  });
  console.log(`portal: 50 licenses rendered ${ms.toFixed(1)} ms after the API's answer`);
  writeFileSync(join(SHOTS, 'figures.txt'), `render50Ms ${ms.toFixed(1)}\n`, { flag: 'a' });

  // users: the cap, and a new user made in the form
  await page.getByRole('link', { name: 'Users' }).click();
  const cap = page.getByText(/^\d+ of 10 users$/);
  await cap.waitFor();
  const members = Number((await cap.textContent()).split(' ')[0]);
  await check(page, 'users');
  await page.getByRole('button', { name: 'Create user' }).first().click();
  const form = page.getByRole('dialog');
  await form.getByLabel('Email').fill('ben@acme.example');
  await form.getByLabel('First name').fill('Ben');
  await form.getByLabel('Last name').fill('Novak');
  await form.getByLabel('Initial password').fill('Ben-pass-123');
  await form.getByLabel('Role').selectOption('user');
  await page.screenshot({ path: join(SHOTS, 'users-create-dialog-desktop.png') });
  await form.getByRole('button', { name: 'Create user' }).click();
  try {
    await page.getByText('ben@acme.example').first().waitFor({ timeout: 10000 });
  } catch (e) {
    await page.screenshot({ path: join(SHOTS, 'users-create-failed-desktop.png') });
    throw e;
  }
  await page.getByText(`${members + 1} of 10 users`).waitFor();

  // a group: Ben is a member, the organization's license is linked
  await page.getByRole('link', { name: 'Groups' }).click();
  await page.getByRole('button', { name: 'Create group' }).first().click();
  await page.getByRole('dialog').getByLabel('Group name').fill('Design team');
  await page.getByRole('dialog').getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('dialog').waitFor({ state: 'hidden' });
  // the new group opens
  await page.getByRole('heading', { name: 'Design team', level: 1 }).waitFor();
  const member = page.getByLabel('Add a member').locator('option', { hasText: 'ben@acme.example' });
  await page.getByLabel('Add a member').selectOption(await member.getAttribute('value'));
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('button', { name: 'Remove ben@acme.example from the group' }).waitFor();
  const option = page.getByLabel('Link a license').locator('option', { hasText: seed.groupLic.key });
  await page.getByLabel('Link a license').selectOption(await option.getAttribute('value'));
  await page.getByRole('button', { name: 'Link', exact: true }).click();
  await page.getByRole('button', { name: `Unlink ${seed.groupLic.key}` }).waitFor();
  await check(page, 'group');
  await page.getByRole('link', { name: 'All groups' }).click();
  await page.getByRole('link', { name: 'Design team' }).waitFor();
  await check(page, 'groups');

  // a second group: a member added and removed, a license linked and
  // unlinked, renamed, then deleted through the confirmation
  await page.getByRole('button', { name: 'Create group' }).first().click();
  await page.getByRole('dialog').getByLabel('Group name').fill('Short-lived');
  await page.getByRole('dialog').getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('heading', { name: 'Short-lived', level: 1 }).waitFor();
  await page.getByLabel('Add a member').selectOption(await page.getByLabel('Add a member').locator('option', { hasText: 'ben@acme.example' }).getAttribute('value'));
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByRole('button', { name: 'Remove ben@acme.example from the group' }).click();
  await page.getByText('No members yet.').waitFor();
  await page.getByLabel('Link a license').selectOption(await page.getByLabel('Link a license').locator('option', { hasText: seed.suspended.key }).getAttribute('value'));
  await page.getByRole('button', { name: 'Link', exact: true }).click();
  await page.getByRole('button', { name: `Unlink ${seed.suspended.key}` }).click();
  await page.getByText('No licenses linked yet.').waitFor();
  await page.getByRole('button', { name: 'Rename' }).click();
  await page.getByRole('dialog').getByLabel('Group name').fill('Renamed group');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Renamed group', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Delete group' }).click();
  await page.getByRole('dialog', { name: 'Delete this group?' }).getByRole('button', { name: 'Delete group' }).click();
  await page.getByRole('link', { name: 'Design team' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Renamed group' }).count(), 0);
  const groups = await api('GET', '/v1/organization/user-groups', await login('olivia@acme.example', 'Portal-pass-1'));
  assert.deepEqual((groups.items || groups).map((g) => g.name), ['Design team']);
  await page.context().close();

  // Ben signs in and sees the group's license
  const ben = await newPage();
  await signIn(ben, 'ben@acme.example', 'Ben-pass-123');
  await ben.getByRole('row').filter({ hasText: seed.groupLic.key }).waitFor();
  await ben.context().close();
});

test('offline activation: a request made by the keyport tool, the response file, the seat counted', async () => {
  const dir = join(stack.dir, 'offline');
  mkdirSync(dir, { recursive: true });
  const req = join(dir, 'request.json');
  const keyport = join(stack.bin, 'keyport');
  const env = { ...process.env, KEYPORT_STATE: join(dir, 'state.json') };
  execFileSync(keyport, ['offline-request', '--key', seed.groupLic.key, '--product', seed.product.id, '--out', req], { env });
  const page = await newPage();
  await signIn(page, 'olivia@acme.example');
  await page.goto(`${base}/licenses/${seed.groupLic.id}`);
  await page.getByRole('heading', { name: 'Offline activation' }).waitFor();
  // the commands are shown filled in, the product's public key included
  await page.getByText(`keyport offline-request --key ${seed.groupLic.key} --product ${seed.product.id} --out request.json`).waitFor();
  await page.getByText(`keyport offline-activate --response response.json --product-key ${seed.product.publicKey}`).waitFor();
  // a file that is no request
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"hello":"world"}');
  await page.getByLabel('Activation request file', { exact: true }).setInputFiles(junk);
  await page.getByRole('button', { name: 'Create the response file' }).click();
  await page.getByText('This is not a Keyport activation request file.').waitFor();
  await page.getByLabel('Activation request file', { exact: true }).setInputFiles(req);
  await page.getByLabel('Response valid for').selectOption({ index: 1 });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Create the response file' }).click(),
  ]);
  const resp = join(dir, 'response.json');
  await download.saveAs(resp);
  await page.screenshot({ path: join(SHOTS, 'license-offline-desktop.png'), fullPage: true });
  const out = execFileSync(keyport, ['offline-activate', '--response', resp, '--product-key', seed.product.publicKey, '--json'], { env }).toString();
  assert.match(out, /"ok"|activ/i, out);
  const lic = await api('GET', `/v1/licenses/${seed.groupLic.id}`, admin);
  assert.equal(lic.totalActivations, 1, JSON.stringify(lic));
  const hostname = execFileSync('hostname').toString().trim();
  await page.getByRole('button', { name: `Free the seat of ${hostname}` }).waitFor();

  // offline deactivation: the machine writes the file, the portal frees the seat
  const deact = join(dir, 'deactivation.json');
  execFileSync(keyport, ['offline-deactivate', '--out', deact], { env });
  await page.getByLabel('Deactivation request file').setInputFiles(deact);
  await page.getByRole('button', { name: 'Free the seat', exact: true }).click();
  await page.getByText(`The seat of ${hostname} is free.`).first().waitFor();
  const acts = await api('GET', `/v1/licenses/${seed.groupLic.id}/activations`, admin);
  assert.ok(acts.items.every((a) => a.deactivatedAt), JSON.stringify(acts));
  await page.getByRole('heading', { name: 'No machines yet' }).waitFor();
  await check(page, 'license-offline-deactivated');
  const after = await api('GET', `/v1/licenses/${seed.groupLic.id}`, admin);
  assert.equal(after.totalDeactivations, 1, JSON.stringify(after));
  assert.equal(after.activeActivations, 0, JSON.stringify(after));
  // the seats in use, not the activations ever made
  await page.getByText(/^0 of 3 activations$/).first().waitFor();
  await page.context().close();
});

test('licenses: filters, search, sort and paging kept in the address; a copy button', async () => {
  const page = await newPage();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await signIn(page, 'olivia@acme.example');
  const pager = page.getByRole('navigation', { name: 'Pages' });
  await pager.getByText(/^1–25 of \d+ licenses$/).waitFor();
  const total = Number((await pager.getByText(/of \d+ licenses/).textContent()).match(/of (\d+) licenses/)[1]);
  assert.ok(total > 50, `the organization's licenses: ${total}`);

  await page.getByRole('button', { name: 'Next' }).click();
  await pager.getByText(`26–50 of ${total} licenses`).waitFor();
  assert.match(page.url(), /page=2/);
  await page.goBack();
  await pager.getByText(`1–25 of ${total} licenses`).waitFor();

  await page.getByLabel('Status').selectOption('suspended');
  await pager.getByText('1–1 of 1 license').waitFor();
  assert.match(page.url(), /status=suspended/);
  await page.getByRole('row').filter({ hasText: seed.suspended.key }).getByText('Suspended').waitFor();
  await page.reload();
  await pager.getByText('1–1 of 1 license').waitFor();
  assert.equal(await page.getByLabel('Status').inputValue(), 'suspended');
  await page.getByLabel('Status').selectOption('');
  await pager.getByText(`of ${total} licenses`).waitFor();

  await page.getByLabel('Product').selectOption({ label: 'Other Product' });
  await pager.getByText('1–1 of 1 license').waitFor();
  await page.getByRole('row').filter({ hasText: seed.otherLic.key }).waitFor();
  await page.getByLabel('Product').selectOption('');

  await page.getByLabel('Search by key').fill(seed.suspended.key.slice(0, 11).toLowerCase());
  await pager.getByText('1–1 of 1 license').waitFor();
  await page.getByLabel('Search by key').fill('ZZZZZ-ZZZZZ');
  await page.getByText('No license matches these filters.').waitFor();
  await check(page, 'licenses-no-match');
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await pager.getByText(`1–25 of ${total} licenses`).waitFor();

  // expires soonest: the 30-day license before every one-year license
  await page.getByLabel('Sort by').selectOption('expires');
  await page.getByRole('row').nth(1).filter({ hasText: seed.otherLic.key }).waitFor();
  assert.match(page.url(), /sort=expires/);

  // the copy button puts the key on the clipboard
  await page.getByRole('row').filter({ hasText: seed.otherLic.key }).getByRole('button', { name: 'Copy key' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), seed.otherLic.key);
  await page.context().close();
});

test('a license without seat releases left: the refusal explained', async () => {
  const page = await newPage();
  await signIn(page, 'max@acme.example');
  await page.getByRole('link', { name: `License ${seed.noRelease.key}` }).click();
  await page.getByRole('button', { name: 'Free the seat of max-desktop' }).click();
  const dialog = page.getByRole('dialog', { name: 'Free this seat?' });
  await dialog.getByText('This license allows no more seat releases.').waitFor();
  await dialog.getByRole('button', { name: 'Free this seat' }).click();
  await page.getByRole('alert').filter({ hasText: 'This license allows no more seat releases. Contact Acme Licensing.' }).waitFor();
  await page.getByText('max-desktop').first().waitFor();
  await check(page, 'license-no-releases');
  await page.context().close();
});

test('profile: EMAIL_TAKEN at the field, the password rules, other sessions signed out', async () => {
  const page = await newPage();
  await signIn(page, 'max@acme.example');
  await page.goto(base + '/profile');
  await page.getByLabel('Email').fill('kim@acme.example');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.getByText('Another account uses this email.').waitFor();
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  await check(page, 'profile-email-taken');
  await page.getByLabel('Email').fill('max@acme.example');

  // a second session of Max, signed out by the password change
  const other = await newPage();
  await signIn(other, 'max@acme.example');

  await page.getByLabel('Current password').fill('Portal-pass-1');
  await page.getByLabel('New password').fill('max@acme.example');
  await page.getByText('Not the same as your email').waitFor();
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Choose a password that is not your email.').waitFor();
  await page.getByLabel('New password').fill('short');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Use at least 8 characters.').waitFor();
  await page.getByLabel('Current password').fill('not-my-password');
  await page.getByLabel('New password').fill('Max-new-pass-2');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('This is not your current password.').waitFor();
  await page.getByLabel('Current password').fill('Portal-pass-1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Your password was changed. Your other sessions were signed out.').first().waitFor();
  await check(page, 'profile-password-changed');

  await other.reload();
  await other.getByRole('heading', { name: 'Sign in' }).waitFor();
  await other.context().close();
  // this session goes on, and the new password signs in
  await page.reload();
  await page.getByLabel('First name').waitFor();
  const again = await newPage();
  await signIn(again, 'max@acme.example', 'Max-new-pass-2');
  await again.context().close();
  await page.context().close();
});

test('organization admin: a user edited and deleted, the cap reached', async () => {
  const page = await newPage();
  await signIn(page, 'olivia@acme.example');
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('button', { name: 'Edit dana@acme.example' }).click();
  const form = page.getByRole('dialog', { name: 'Edit dana@acme.example' });
  await form.getByLabel('Last name').fill('Okafor');
  await form.getByLabel('Role').selectOption('organization-admin');
  await form.getByRole('button', { name: 'Save changes' }).click();
  await form.waitFor({ state: 'hidden' });
  const row = page.getByRole('row').filter({ hasText: 'dana@acme.example' });
  await row.getByText('Dana Okafor').waitFor();
  const u = await api('GET', `/v1/users/${seed.dana.id}`, admin);
  assert.equal(u.lastName, 'Okafor');
  assert.equal(u.role, 'organization-admin');

  await page.getByRole('button', { name: 'Delete dana@acme.example' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete this user?' });
  await confirm.waitFor();
  await page.screenshot({ path: join(SHOTS, 'users-delete-dialog-desktop.png') });
  await confirm.getByRole('button', { name: 'Delete user' }).click();
  await row.waitFor({ state: 'detached' });
  await assert.rejects(api('GET', `/v1/users/${seed.dana.id}`, admin), /404/);
  await page.context().close();

  // Tiny Works holds its two users: the cap, and the refusal explained
  const tia = await newPage();
  await signIn(tia, 'tia@tiny.example');
  await tia.getByRole('link', { name: 'Users' }).click();
  await tia.getByText('2 of 2 users').waitFor();
  await check(tia, 'users-at-cap');
  await tia.getByRole('button', { name: 'Create user' }).first().click();
  const add = tia.getByRole('dialog');
  await add.getByLabel('Email').fill('tess@tiny.example');
  await add.getByLabel('First name').fill('Tess');
  await add.getByLabel('Last name').fill('Tiny');
  await add.getByLabel('Initial password').fill('Tess-pass-123');
  await add.getByRole('button', { name: 'Create user' }).click();
  await add.getByText(/Your organization has reached its 2 users\./).waitFor();
  await tia.context().close();
});
