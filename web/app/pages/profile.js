// Profile: names and email (EMAIL_TAKEN at the field), and the password,
// with the rules shown before submitting.
import { html, useState, useEffect, shell, setTitle, Field, Alert, Icon, PageHeader, errorText, announce } from '../ui.js';
import { api } from '../api.js';

function Names() {
  const me = shell.me;
  const [v, setV] = useState({ firstName: me.firstName || '', lastName: me.lastName || '', email: me.email });
  const [errs, setErrs] = useState({});
  const [error, setError] = useState(null);
  const [ok, setOk] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setV({ ...v, [k]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setErrs({});
    setError(null);
    setOk(null);
    const body = {};
    for (const k of ['firstName', 'lastName', 'email']) if (v[k].trim() !== (shell.me[k] || '')) body[k] = v[k].trim();
    if (Object.keys(body).length === 0) {
      setOk('Nothing to change.');
      return;
    }
    setBusy(true);
    try {
      shell.me = await api('PATCH', '/v1/me', { body });
      setOk('Your profile was saved.');
      announce('Your profile was saved.');
      dispatchEvent(new PopStateEvent('popstate'));
    } catch (err) {
      if (err.code === 'EMAIL_TAKEN') setErrs({ email: errorText(err) });
      else if (err.code === 'INVALID_INPUT' && /email/i.test(err.message)) setErrs({ email: 'Enter a valid email address.' });
      else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="card" aria-labelledby="names-h"><div class="card-head"><h2 id="names-h">Your details</h2></div>
    <form class="card-body form-narrow" onSubmit=${submit} novalidate>
      <${Alert}>${error}<//>${ok && html`<${Alert} kind="success">${ok}<//>`}
      <div class="field-row">
        <${Field} label="First name">${(a) => html`<input ...${a} autocomplete="given-name" value=${v.firstName} onInput=${set('firstName')} />`}<//>
        <${Field} label="Last name">${(a) => html`<input ...${a} autocomplete="family-name" value=${v.lastName} onInput=${set('lastName')} />`}<//>
      </div>
      <${Field} label="Email" error=${errs.email}>${(a) => html`<input ...${a} type="email" autocomplete="email" value=${v.email} onInput=${set('email')} />`}<//>
      <div class="form-actions"><button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Saving…' : 'Save details'}</button></div>
    </form></section>`;
}

function Password() {
  const [cur, setCur] = useState('');
  const [pw, setPw] = useState('');
  const [errs, setErrs] = useState({});
  const [error, setError] = useState(null);
  const [ok, setOk] = useState(null);
  const [busy, setBusy] = useState(false);
  const longEnough = pw.length >= 8;
  const notEmail = pw !== '' && pw.toLowerCase() !== shell.me.email.toLowerCase();
  const submit = async (e) => {
    e.preventDefault();
    setErrs({});
    setError(null);
    setOk(null);
    const fe = {};
    if (!cur) fe.cur = 'Enter your current password.';
    if (!longEnough) fe.pw = 'Use at least 8 characters.';
    else if (!notEmail) fe.pw = 'Choose a password that is not your email.';
    if (Object.keys(fe).length) {
      setErrs(fe);
      return;
    }
    setBusy(true);
    try {
      await api('POST', '/v1/me/password', { body: { currentPassword: cur, newPassword: pw } });
      setCur('');
      setPw('');
      const msg = 'Your password was changed. Your other sessions were signed out.';
      setOk(msg);
      announce(msg);
    } catch (err) {
      if (err.status === 403) setErrs({ cur: 'This is not your current password.' });
      else if (err.code === 'INVALID_INPUT') setErrs({ pw: errorText(err) });
      else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const rule = (met, text) => html`<li class=${met ? 'met' : ''}><${Icon} name=${met ? 'check' : 'info'} />${text}<span class="sr-only">${met ? ' (met)' : ' (not met yet)'}</span></li>`;
  return html`<section class="card" aria-labelledby="pw-h"><div class="card-head"><div><h2 id="pw-h">Password</h2><p>Changing it signs out your other sessions.</p></div></div>
    <form class="card-body form-narrow" onSubmit=${submit} novalidate>
      <${Alert}>${error}<//>${ok && html`<${Alert} kind="success">${ok}<//>`}
      <${Field} label="Current password" error=${errs.cur}>${(a) => html`<input ...${a} type="password" autocomplete="current-password" value=${cur} onInput=${(e) => setCur(e.target.value)} />`}<//>
      <${Field} label="New password" error=${errs.pw} id="new-password">${(a) => html`<input ...${a} aria-describedby=${['pw-rules', a['aria-describedby']].filter(Boolean).join(' ')} type="password" autocomplete="new-password" value=${pw} onInput=${(e) => setPw(e.target.value)} />`}<//>
      <ul class="rules" id="pw-rules" aria-label="Password rules">${rule(longEnough, 'At least 8 characters')}${rule(notEmail, 'Not the same as your email')}</ul>
      <div class="form-actions"><button type="submit" class="btn btn-primary" disabled=${busy}>${busy ? 'Changing…' : 'Change password'}</button></div>
    </form></section>`;
}

export default function Profile() {
  useEffect(() => setTitle('Profile'), []);
  return html`<${PageHeader} title="Profile" sub=${`Signed in as ${shell.me.email}.`} /><${Names} /><${Password} />`;
}
