// Organization admin: one group: rename, delete, members, linked licenses.
import { html, useState, useEffect, setTitle, Field, Alert, Icon, Modal, Loading, Link, StatusBadge, errorText, announce, confirm, shell } from '../ui.js';
import { api, apiAll } from '../api.js';
import { GroupForm } from './groups.js';

const userName = (u) => [u.firstName, u.lastName].filter(Boolean).join(' ') || u.email;

export default function Group({ params }) {
  const [g, setG] = useState(null);
  const [users, setUsers] = useState([]);
  const [lics, setLics] = useState([]);
  const [error, setError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [editing, setEditing] = useState(false);
  const [pickUser, setPickUser] = useState('');
  const [pickLic, setPickLic] = useState('');
  const [tick, setTick] = useState(0);
  const reload = () => setTick((t) => t + 1);
  useEffect(() => setTitle('Group'), []);
  useEffect(() => {
    api('GET', `/v1/organization/user-groups/${params.id}`).then(
      (x) => {
        setG(x);
        setTitle(`Group ${x.name}`);
      },
      (e) => setError(e.code === 'NOT_FOUND' ? 'This group does not exist.' : errorText(e)),
    );
  }, [params.id, tick]);
  useEffect(() => {
    apiAll('/v1/organization/users').then(setUsers, () => {});
    apiAll('/v1/me/licenses').then(setLics, () => {});
  }, []);
  const back = html`<${Link} href="/organization/groups" class="back-link"><${Icon} name="back" />All groups<//>`;
  if (error) return html`${back}<div class="card"><div class="empty"><${Icon} name="alert" /><h1 tabindex="-1">Group not found</h1><p>${error}</p></div></div>`;
  if (!g) return html`${back}<h1 tabindex="-1" class="sr-only">Group</h1><${Loading} />`;

  const act = async (fn, msg) => {
    setActionError(null);
    try {
      await fn();
      announce(msg);
      reload();
    } catch (e) {
      setActionError(errorText(e));
    }
  };
  const memberIds = new Set(g.users.map((u) => u.id));
  const linkedIds = new Set(g.licenses.map((l) => l.id));
  const candidates = users.filter((u) => !memberIds.has(u.id));
  const licCandidates = lics.filter((l) => !linkedIds.has(l.id));
  const del = async () => {
    const ok = await confirm({ title: 'Delete this group?', body: html`<p>The group <strong>${g.name}</strong> will be deleted. Its ${g.users.length} members lose access to its ${g.licenses.length} linked licenses (unless they hold them otherwise).</p>`, confirm: 'Delete group', danger: true });
    if (!ok) return;
    try {
      await api('DELETE', `/v1/organization/user-groups/${g.id}`);
      announce(`The group ${g.name} was deleted.`);
      shell.navigate('/organization/groups');
    } catch (e) {
      setActionError(errorText(e));
    }
  };
  return html`${back}
    <div class="page-head"><div><h1 tabindex="-1">${g.name}</h1>${g.description && html`<p class="page-sub">${g.description}</p>`}</div>
      <div class="page-actions"><button type="button" class="btn" onClick=${() => setEditing(true)}><${Icon} name="edit" />Rename</button>
      <button type="button" class="btn" onClick=${del}><${Icon} name="trash" />Delete group</button></div></div>
    <${Alert}>${actionError}<//>
    <div class="grid-2">
      <section class="card" aria-labelledby="members-h">
        <div class="card-head"><div><h2 id="members-h">Members</h2><p>${g.users.length} ${g.users.length === 1 ? 'person' : 'people'}</p></div></div>
        <form class="card-body inline-form" onSubmit=${(e) => {
          e.preventDefault();
          const u = users.find((x) => x.id === pickUser);
          if (u) act(() => api('PUT', `/v1/organization/user-groups/${g.id}/users/${u.id}`), `${userName(u)} was added to ${g.name}.`).then(() => setPickUser(''));
        }}>
          <div class="field"><label for="add-member">Add a member</label>
            <select id="add-member" value=${pickUser} onChange=${(e) => setPickUser(e.target.value)}><option value="">Choose a user…</option>${candidates.map((u) => html`<option value=${u.id}>${userName(u)} (${u.email})</option>`)}</select></div>
          <button type="submit" class="btn" disabled=${!pickUser}><${Icon} name="plus" />Add</button>
        </form>
        ${g.users.length === 0 ? html`<p class="card-body muted">No members yet.</p>` : html`<ul class="pill-list">${g.users.map((u) => html`<li><span class="pill-main"><strong>${userName(u)}</strong><span class="cell-sub">${u.email}</span></span>
          <button type="button" class="btn btn-sm btn-ghost" aria-label=${`Remove ${u.email} from the group`} onClick=${() => act(() => api('DELETE', `/v1/organization/user-groups/${g.id}/users/${u.id}`), `${userName(u)} was removed from ${g.name}.`)}>Remove</button></li>`)}</ul>`}
      </section>
      <section class="card" aria-labelledby="glic-h">
        <div class="card-head"><div><h2 id="glic-h">Linked licenses</h2><p>Every member sees these.</p></div></div>
        <form class="card-body inline-form" onSubmit=${(e) => {
          e.preventDefault();
          const l = lics.find((x) => x.id === pickLic);
          if (l) act(() => api('PUT', `/v1/organization/user-groups/${g.id}/licenses/${l.id}`), `License ${l.key} was linked to ${g.name}.`).then(() => setPickLic(''));
        }}>
          <div class="field"><label for="link-license">Link a license</label>
            <select id="link-license" value=${pickLic} onChange=${(e) => setPickLic(e.target.value)}><option value="">Choose a license…</option>${licCandidates.map((l) => html`<option value=${l.id}>${l.key} · ${l.productName}</option>`)}</select></div>
          <button type="submit" class="btn" disabled=${!pickLic}><${Icon} name="link" />Link</button>
        </form>
        ${g.licenses.length === 0 ? html`<p class="card-body muted">No licenses linked yet.</p>` : html`<ul class="pill-list">${g.licenses.map((l) => html`<li><span class="pill-main"><${Link} href=${`/licenses/${l.id}`} class="key">${l.key}<//><span class="cell-sub">${l.productName} · <${StatusBadge} status=${l.status} /></span></span>
          <button type="button" class="btn btn-sm btn-ghost" aria-label=${`Unlink ${l.key}`} onClick=${() => act(() => api('DELETE', `/v1/organization/user-groups/${g.id}/licenses/${l.id}`), `License ${l.key} was unlinked from ${g.name}.`)}>Unlink</button></li>`)}</ul>`}
      </section>
    </div>
    <${Modal} open=${editing} title="Rename the group" onClose=${() => setEditing(false)}>${editing && html`<${GroupForm} group=${g} onDone=${(x, msg) => {
      setEditing(false);
      if (x) {
        announce(msg);
        reload();
      }
    }} />`}<//>`;
}
