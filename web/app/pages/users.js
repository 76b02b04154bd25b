// Organization admin: the organization's users, with the cap ("7 of 10
// users") in sight before creating one.
import { html, useState, useEffect, shell, setTitle, Field, Alert, Icon, PageHeader, Modal, SkeletonRows, errorText, confirm, announce, fmtDate, fmtNum } from '../ui.js';
import { api, apiAll } from '../api.js';

const roleWord = (r) => (r === 'organization-admin' ? 'Organization admin' : 'User');

function UserForm({ user, onDone, cap }) {
  const editing = !!user;
  const [v, setV] = useState({ email: '', firstName: user?.firstName || '', lastName: user?.lastName || '', password: '', role: user?.role || 'user' });
  const [errs, setErrs] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setErrs({});
    setError(null);
    const fe = {};
    if (!editing) {
      if (!/^[^@\s]+@[^@\s]+$/.test(v.email.trim())) fe.email = 'Enter an email address.';
      if (v.password.length < 8) fe.password = 'Use at least 8 characters.';
      else if (v.password.toLowerCase() === v.email.trim().toLowerCase()) fe.password = 'Choose a password that is not the email.';
    }
    if (Object.keys(fe).length) {
      setErrs(fe);
      return;
    }
    setBusy(true);
    try {
      if (editing) {
        await api('PATCH', `/v1/organization/users/${user.id}`, { body: { firstName: v.firstName.trim(), lastName: v.lastName.trim(), role: v.role } });
      } else {
        await api('POST', '/v1/organization/users', { body: { email: v.email.trim(), firstName: v.firstName.trim(), lastName: v.lastName.trim(), password: v.password, role: v.role } });
      }
      onDone(editing ? `${v.firstName || user.email} was updated.` : `${v.email.trim()} can now sign in.`);
    } catch (err) {
      if (err.code === 'EMAIL_TAKEN') setErrs({ email: errorText(err) });
      else if (err.code === 'INVALID_INPUT' && /password/i.test(err.message)) setErrs({ password: errorText(err) });
      else setError(errorText(err, { users: cap }));
      setBusy(false);
    }
  };
  return html`<form onSubmit=${submit} novalidate>
    <${Alert}>${error}<//>
    ${!editing && html`<${Field} label="Email" error=${errs.email}>${(a) => html`<input ...${a} type="email" autocomplete="off" value=${v.email} onInput=${set('email')} />`}<//>`}
    <div class="field-row">
      <${Field} label="First name">${(a) => html`<input ...${a} value=${v.firstName} onInput=${set('firstName')} />`}<//>
      <${Field} label="Last name">${(a) => html`<input ...${a} value=${v.lastName} onInput=${set('lastName')} />`}<//>
    </div>
    ${!editing && html`<${Field} label="Initial password" hint="At least 8 characters, not the email. Share it with them safely; they can change it in their profile." error=${errs.password}>${(a) => html`<input ...${a} type="password" autocomplete="new-password" value=${v.password} onInput=${set('password')} />`}<//>`}
    <${Field} label="Role" hint="Organization admins manage users, groups and see every license of the organization.">${(a) => html`<select ...${a} value=${v.role} onChange=${set('role')}><option value="user">User</option><option value="organization-admin">Organization admin</option></select>`}<//>
    <div class="form-actions"><button type="button" class="btn" onClick=${() => onDone(null)}>Cancel</button><button type="submit" class="btn btn-primary" disabled=${busy}>${editing ? 'Save changes' : 'Create user'}</button></div>
  </form>`;
}

export default function Users() {
  const [users, setUsers] = useState(null);
  const [org, setOrg] = useState(shell.org);
  const [error, setError] = useState(null);
  const [dialog, setDialog] = useState(null); // {user?} or null
  const [tick, setTick] = useState(0);
  useEffect(() => setTitle('Users'), []);
  useEffect(() => {
    apiAll('/v1/organization/users').then(setUsers, (e) => setError(errorText(e)));
    api('GET', '/v1/organization').then((o) => {
      shell.org = o;
      setOrg(o);
    }, () => {});
  }, [tick]);
  const cap = org ? org.allowedUsers : -1;
  const count = users ? users.length : 0;
  const atCap = cap >= 0 && count >= cap;
  const done = (msg) => {
    setDialog(null);
    if (msg) {
      announce(msg);
      setTick((t) => t + 1);
    }
  };
  const del = async (u) => {
    const ok = await confirm({ title: 'Delete this user?', body: html`<p><strong>${u.email}</strong> will no longer be able to sign in, and leaves every group. Licenses assigned to them stay with the organization.</p>`, confirm: 'Delete user', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/v1/organization/users/${u.id}`);
      announce(`${u.email} was deleted.`);
      setTick((t) => t + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const capText = cap < 0 ? `${fmtNum(count)} users (no limit)` : `${fmtNum(count)} of ${fmtNum(cap)} users`;
  return html`<${PageHeader} title="Users" sub=${`People of ${org ? org.name : 'your organization'} who can sign in.`}>
      <button type="button" class="btn btn-primary" onClick=${() => setDialog({})}><${Icon} name="plus" />Create user</button>
    <//>
    <${Alert}>${error}<//>
    ${users && html`<p class="cap-line"><span class=${`badge ${atCap ? 'badge-expired' : 'badge-plain'}`}>${capText}</span>${atCap && html` <span class="muted">Your organization has reached its ${fmtNum(cap)} users: delete one or ask ${shell.branding.portalName} for more.</span>`}</p>`}
    <section class="card" aria-label="Users">
      <table class="data stack"><thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${!users
        ? html`<${SkeletonRows} rows=${4} cols=${5} />`
        : users.map((u) => {
            const name = [u.firstName, u.lastName].filter(Boolean).join(' ');
            const self = u.id === shell.me.id;
            return html`<tr key=${u.id}>
              <td class="cell-primary" data-label="Name"><strong>${name || u.email}</strong>${self && html` <span class="badge badge-accent">You</span>`}${u.disabled && html` <span class="badge badge-revoked">Disabled</span>`}</td>
              <td data-label="Email">${u.email}</td>
              <td data-label="Role">${roleWord(u.role)}</td>
              <td data-label="Created">${fmtDate(u.createdAt)}</td>
              <td class="actions"><button type="button" class="btn btn-sm btn-ghost" onClick=${() => setDialog({ user: u })} aria-label=${`Edit ${u.email}`}><${Icon} name="edit" />Edit</button>
                ${!self && html`<button type="button" class="btn btn-sm btn-ghost" onClick=${() => del(u)} aria-label=${`Delete ${u.email}`}><${Icon} name="trash" />Delete</button>`}</td>
            </tr>`;
          })}</tbody></table>
    </section>
    <${Modal} open=${!!dialog} title=${dialog && dialog.user ? `Edit ${dialog.user.email}` : 'Create a user'} onClose=${() => setDialog(null)}>
      ${dialog && html`<${UserForm} user=${dialog.user} cap=${cap} onDone=${done} />`}
    <//>`;
}
