// One license: its fields and metadata, its machines (free a seat), and the
// offline activation and deactivation walk-throughs.
import { html, useState, useEffect, useRef, shell, setTitle, Link, CopyButton, StatusBadge, Usage, When, Alert, Loading, Icon, errorText, fmtDateTime, fmtDuration, fmtNum, plural, confirm, announce, saveFile } from '../ui.js';
import { api } from '../api.js';

const VALIDITIES = [
  [86400, '1 day'],
  [7 * 86400, '7 days'],
  [30 * 86400, '30 days'],
  [90 * 86400, '90 days'],
  [365 * 86400, '1 year'],
];

function Cmd({ text, label }) {
  return html`<div class="cmd"><code>${text}</code><${CopyButton} text=${text} label=${label} /></div>`;
}

// A drop zone with a file button; calls onFile(File).
function FilePick({ id, label, file, onFile }) {
  const [over, setOver] = useState(false);
  return html`<div class=${`dropzone${over ? ' over' : ''}`}
      onDragOver=${(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave=${() => setOver(false)}
      onDrop=${(e) => {
        e.preventDefault();
        setOver(false);
        if (e.dataTransfer.files[0]) onFile(e.dataTransfer.files[0]);
      }}>
    <${Icon} name="upload" />
    ${file ? html`<span class="file-picked"><${Icon} name="file" />${file.name}</span>` : html`<span>Drop the file here, or choose it:</span>`}
    <label for=${id} class="sr-only">${label}</label>
    <input id=${id} type="file" accept=".json,application/json" onChange=${(e) => onFile(e.target.files[0] || null)} />
  </div>`;
}

function seatsLeft(l) {
  return l.allowedDeactivations < 0 ? -1 : Math.max(0, l.allowedDeactivations - l.totalDeactivations);
}

function Machines({ license, acts, reload }) {
  const [error, setError] = useState(null);
  const active = acts.filter((a) => !a.deactivatedAt);
  const free = async (a) => {
    setError(null);
    const left = seatsLeft(license);
    const ok = await confirm({
      title: 'Free this seat?',
      body: html`<p><strong>${a.hostname}</strong> (${[a.os, a.osVersion].filter(Boolean).join(' ')}) will no longer be activated with this license, and its seat becomes free for another machine.</p>
        <p>${left < 0 ? 'This license allows unlimited seat releases.' : left === 0 ? 'This license allows no more seat releases.' : `After this, ${plural(left - 1, 'seat release')} will remain on this license.`}</p>`,
      confirm: 'Free this seat',
      danger: true,
    });
    if (!ok) return;
    try {
      await api('DELETE', `/v1/licenses/${license.id}/activations/${a.id}`);
      announce(`The seat of ${a.hostname} is free.`);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return html`<section class="card" aria-labelledby="machines-h">
    <div class="card-head"><div><h2 id="machines-h">Machines</h2><p>${license.allowedActivations < 0 ? `${plural(active.length, 'machine')} using this license.` : `${fmtNum(active.length)} of ${plural(license.allowedActivations, 'seat')} in use.`}</p></div></div>
    ${error && html`<div class="card-body"><${Alert}>${error}<//></div>`}
    ${active.length === 0
      ? html`<div class="empty"><${Icon} name="monitor" /><h2>No machines yet</h2><p>A machine appears here once the application is activated on it, online or with the offline steps below.</p></div>`
      : html`<table class="data stack">
      <thead><tr><th scope="col">Hostname</th><th scope="col">Operating system</th><th scope="col">App version</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Connection</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${active.map((a) => {
        const recent = a.lastSeenAt && Date.now() - new Date(a.lastSeenAt).getTime() < 3600e3;
        return html`<tr key=${a.id}>
          <td class="cell-primary" data-label="Hostname"><strong>${a.hostname}</strong><span class="cell-sub mono">${a.fingerprint ? a.fingerprint.slice(0, 16) : ''}</span></td>
          <td data-label="Operating system">${[a.os, a.osVersion].filter(Boolean).join(' ')}</td>
          <td data-label="App version">${a.appVersion || html`<span class="muted">—</span>`}</td>
          <td data-label="First seen"><${When} iso=${a.createdAt} /></td>
          <td data-label="Last seen"><${When} iso=${a.lastSeenAt || a.createdAt} /></td>
          <td data-label="Connection">${a.offline ? html`<span class="badge badge-plain">Offline activation</span>` : recent ? html`<span class="badge badge-active">Online</span>` : html`<span class="badge badge-plain">Offline</span>`}</td>
          <td class="actions"><button type="button" class="btn btn-sm" onClick=${() => free(a)} aria-label=${`Free the seat of ${a.hostname}`}>Free this seat</button></td>
        </tr>`;
      })}</tbody></table>`}
  </section>`;
}

function OfflineActivation({ license, reload }) {
  const [file, setFile] = useState(null);
  const [validity, setValidity] = useState(String(30 * 86400));
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (!file) {
      setError('Choose the request file first.');
      return;
    }
    setBusy(true);
    try {
      const res = await api('POST', `/v1/licenses/${license.id}/offline-activations`, { raw: await file.text(), query: { responseValidity: validity }, response: true });
      const blob = await res.blob();
      const m = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') || '');
      saveFile(m ? m[1] : 'response.json', blob);
      setDone('The response file was downloaded. Carry it to the machine for step 3.');
      announce('Response file downloaded.');
      setFile(null);
      reload();
    } catch (err) {
      setError(errorText(err, { seats: license.allowedActivations }));
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="offline-h">
    <div class="card-head"><div><h2 id="offline-h">Offline activation</h2><p>For a machine without network access: three steps, carrying two files by hand.</p></div></div>
    <div class="card-body"><ol class="steps">
      <li class="step"><div><h3>Create a request on the offline machine</h3><p>Run this there; it writes <code>request.json</code>.</p>
        <${Cmd} text=${`keyport offline-request --key ${license.key} --product ${license.productId} --out request.json`} label="Copy the request command" /></div></li>
      <li class="step"><div><h3>Upload the request here</h3>
        <form onSubmit=${submit}>
          <${FilePick} id="offline-act-file" label="Activation request file" file=${file} onFile=${(f) => { setFile(f); setError(null); setDone(null); }} />
          <div class="inline-form">
            <div class="field"><label for="offline-validity">Response valid for</label>
              <select id="offline-validity" value=${validity} onChange=${(e) => setValidity(e.target.value)}>${VALIDITIES.map(([s, t]) => html`<option value=${String(s)}>${t}</option>`)}</select></div>
            <button type="submit" class="btn btn-primary" disabled=${busy}><${Icon} name="download" />${busy ? 'Creating…' : 'Create the response file'}</button>
          </div>
          <p class="hint muted">The machine must load the response before it runs out.</p>
        </form>
        <${Alert}>${error}<//>${done && html`<${Alert} kind="success">${done}<//>`}</div></li>
      <li class="step"><div><h3>Load the response on the machine</h3><p>Run this there; the key at the end is ${license.productName}'s public key.</p>
        <${Cmd} text=${`keyport offline-activate --response response.json --product-key ${license.productPublicKey}`} label="Copy the activate command" /></div></li>
    </ol></div>
  </section>`;
}

function OfflineDeactivation({ license, reload }) {
  const [file, setFile] = useState(null);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (!file) {
      setError('Choose the deactivation file first.');
      return;
    }
    setBusy(true);
    try {
      const r = await api('POST', `/v1/licenses/${license.id}/offline-deactivations`, { raw: await file.text() });
      const host = r && r.activation ? r.activation.hostname : 'the machine';
      setDone(`The seat of ${host} is free.`);
      announce(`The seat of ${host} is free.`);
      setFile(null);
      reload();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="offdeact-h">
    <div class="card-head"><div><h2 id="offdeact-h">Offline deactivation</h2><p>Free the seat of an offline machine you no longer use.</p></div></div>
    <div class="card-body"><ol class="steps">
      <li class="step"><div><h3>Create a deactivation file on the machine</h3><p>This ends the activation there.</p>
        <${Cmd} text="keyport offline-deactivate --out deactivation.json" label="Copy the deactivate command" /></div></li>
      <li class="step"><div><h3>Upload it here</h3>
        <form onSubmit=${submit}>
          <${FilePick} id="offline-deact-file" label="Deactivation request file" file=${file} onFile=${(f) => { setFile(f); setError(null); setDone(null); }} />
          <div class="form-actions"><button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Freeing…' : 'Free the seat'}</button></div>
        </form>
        <${Alert}>${error}<//>${done && html`<${Alert} kind="success">${done}<//>`}</div></li>
    </ol></div>
  </section>`;
}

export default function License({ params }) {
  const [lic, setLic] = useState(null);
  const [acts, setActs] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  const reload = () => setTick((t) => t + 1);
  useEffect(() => {
    let live = true;
    Promise.all([api('GET', `/v1/licenses/${params.id}`), api('GET', `/v1/licenses/${params.id}/activations`, { query: { page: 1, limit: 100 } })])
      .then(([l, a]) => {
        if (!live) return;
        setLic(l);
        setActs(a.items || []);
        setTitle(`License ${l.key}`);
      })
      .catch((e) => live && setError(e.code === 'NOT_FOUND' ? 'This license does not exist, or it is not shared with you.' : errorText(e)));
    return () => {
      live = false;
    };
  }, [params.id, tick]);
  useEffect(() => setTitle('License'), []);

  const back = html`<${Link} href="/licenses" class="back-link"><${Icon} name="back" />All licenses<//>`;
  if (error) return html`${back}<div class="card"><div class="empty"><${Icon} name="alert" /><h1 tabindex="-1">License not found</h1><p>${error}</p></div></div>`;
  if (!lic) return html`${back}<h1 tabindex="-1" class="sr-only">License</h1><${Loading} label="Loading the license…" />`;
  const meta = Object.entries(lic.metadata || {});
  const left = seatsLeft(lic);
  return html`${back}
    <div class="page-head"><div>
      <div class="key-line"><h1 tabindex="-1" class="key key-big">${lic.key}</h1><${CopyButton} text=${lic.key} label="Copy key" /></div>
      <p class="page-sub">${lic.productName} · <${StatusBadge} status=${lic.status} /></p>
    </div></div>
    ${lic.status !== 'active' && html`<${Alert}>${errorText({ code: `LICENSE_${lic.status.toUpperCase()}` })}<//>`}
    <div class="stat-row">
      <div class="stat"><span class="stat-label">Seats in use</span><span class="stat-value"><${Usage} used=${lic.activeActivations} allowed=${lic.allowedActivations} what="activations" /></span></div>
      <div class="stat"><span class="stat-label">Seat releases</span><span class="stat-value"><${Usage} used=${lic.totalDeactivations} allowed=${lic.allowedDeactivations} what="deactivations" /></span></div>
      <div class="stat"><span class="stat-label">Expires</span><span class="stat-value"><${When} iso=${lic.expiresAt} never=${lic.validity && lic.expirationStrategy === 'delayed' ? 'after first activation' : 'never'} /></span></div>
    </div>
    <${Machines} license=${lic} acts=${acts} reload=${reload} />
    <div class="grid-2">
      <section class="card" aria-labelledby="details-h"><div class="card-head"><h2 id="details-h">Details</h2></div><div class="card-body">
        <dl class="kv">
          <dt>Product</dt><dd>${lic.productName}</dd>
          <dt>Type</dt><dd>${lic.type === 'hosted-floating' ? 'Hosted floating' : 'Node-locked'}</dd>
          <dt>Validity</dt><dd>${fmtDuration(lic.validity)}${lic.validity ? (lic.expirationStrategy === 'delayed' ? ', from the first activation' : ', from creation') : ''}</dd>
          <dt>Expires</dt><dd>${lic.expiresAt ? fmtDateTime(lic.expiresAt) : 'Never'}</dd>
          <dt>Seat releases left</dt><dd>${left < 0 ? 'Unlimited' : fmtNum(left)}</dd>
          <dt>Activations so far</dt><dd>${fmtNum(lic.totalActivations)}</dd>
          <dt>Created</dt><dd>${fmtDateTime(lic.createdAt)}</dd>
          <dt>Product id</dt><dd class="mono">${lic.productId}</dd>
        </dl></div></section>
      <section class="card" aria-labelledby="meta-h"><div class="card-head"><h2 id="meta-h">Metadata</h2></div>
        ${meta.length === 0
          ? html`<div class="card-body muted">No metadata.</div>`
          : html`<table class="data"><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead><tbody>${meta.map(([k, v]) => html`<tr><td class="mono">${k}</td><td>${v}</td></tr>`)}</tbody></table>`}
      </section>
    </div>
    <${OfflineActivation} license=${lic} reload=${reload} />
    <${OfflineDeactivation} license=${lic} reload=${reload} />`;
}
