// Organization admin: user groups. A group's members see the licenses
// linked to it.
import { html, useState, useEffect, setTitle, Field, Alert, Icon, PageHeader, Modal, SkeletonRows, Link, errorText, announce, fmtDate, shell } from '../ui.js';
import { api, apiAll } from '../api.js';

export function GroupForm({ group, onDone }) {
  const [name, setName] = useState(group?.name || '');
  const [desc, setDesc] = useState(group?.description || '');
  const [errs, setErrs] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (!name.trim()) {
      setErrs({ name: 'Give the group a name.' });
      return;
    }
    setErrs({});
    setBusy(true);
    try {
      const body = { name: name.trim(), description: desc.trim() };
      const g = group ? await api('PATCH', `/v1/organization/user-groups/${group.id}`, { body }) : await api('POST', '/v1/organization/user-groups', { body });
      onDone(g, group ? `The group is now called ${body.name}.` : `The group ${body.name} was created.`);
    } catch (err) {
      if (err.status === 409) setErrs({ name: 'Another group has this name.' });
      else setError(errorText(err));
      setBusy(false);
    }
  };
  return html`<form onSubmit=${submit} novalidate>
    <${Alert}>${error}<//>
    <${Field} label="Group name" error=${errs.name}>${(a) => html`<input ...${a} value=${name} onInput=${(e) => setName(e.target.value)} />`}<//>
    <${Field} label="Description" hint="Optional.">${(a) => html`<input ...${a} value=${desc} onInput=${(e) => setDesc(e.target.value)} />`}<//>
    <div class="form-actions"><button type="button" class="btn" onClick=${() => onDone(null)}>Cancel</button><button type="submit" class="btn btn-primary" disabled=${busy}>${group ? 'Save' : 'Create group'}</button></div>
  </form>`;
}

export default function Groups() {
  const [groups, setGroups] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    setTitle('Groups');
    apiAll('/v1/organization/user-groups').then(setGroups, (e) => setError(errorText(e)));
  }, []);
  const done = (g, msg) => {
    setOpen(false);
    if (g) {
      announce(msg);
      shell.navigate(`/organization/groups/${g.id}`);
    }
  };
  return html`<${PageHeader} title="Groups" sub="Put users in a group, then link licenses to it: every member sees them.">
      <button type="button" class="btn btn-primary" onClick=${() => setOpen(true)}><${Icon} name="plus" />Create group</button>
    <//>
    <${Alert}>${error}<//>
    <section class="card" aria-label="Groups">
      ${groups && groups.length === 0
        ? html`<div class="empty"><${Icon} name="group" /><h2>No groups yet</h2><p>Create a group for a team, add its people, and link the team's licenses to it.</p></div>`
        : html`<table class="data stack"><thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Created</th></tr></thead>
        <tbody>${!groups
          ? html`<${SkeletonRows} rows=${3} cols=${3} />`
          : groups.map((g) => html`<tr key=${g.id}>
              <td class="cell-primary" data-label="Name"><${Link} class="row-link" href=${`/organization/groups/${g.id}`}>${g.name}<//></td>
              <td data-label="Description">${g.description || html`<span class="muted">—</span>`}</td>
              <td data-label="Created">${fmtDate(g.createdAt)}</td></tr>`)}</tbody></table>`}
    </section>
    <${Modal} open=${open} title="Create a group" onClose=${() => setOpen(false)}>${open && html`<${GroupForm} onDone=${done} />`}<//>`;
}
