// Sign in: email and password; the three failures each have their sentence.
import { html, useState, useEffect, useRef, shell, setTitle, Field, Alert, Icon, errorText } from '../ui.js';
import { login } from '../api.js';

export default function SignIn({ notice, onSignedIn }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef(null);
  useEffect(() => {
    setTitle('Sign in');
    if (emailRef.current) emailRef.current.focus();
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const user = await login(email.trim(), password);
      await onSignedIn(user);
    } catch (err) {
      let msg = errorText(err, { signIn: true });
      if (err.code === 'UNAUTHENTICATED') {
        msg = html`${msg} <span class="alert-more">If your account was disabled, ask your organization's administrator to enable it.</span>`;
      }
      setError(msg);
      setBusy(false);
    }
  };
  const b = shell.branding;
  return html`<main class="signin" id="main">
    <div class="signin-card">
      <div class="signin-brand"><span class="brand">${b.logoUrl ? html`<img class="brand-logo" src=${b.logoUrl} alt="" />` : html`<span class="brand-mark" aria-hidden="true"><${Icon} name="logo" /></span>`}<span class="brand-name">${b.portalName}</span></span></div>
      <h1>Sign in</h1>
      <p class="page-sub">to your licenses and downloads</p>
      ${notice && !error && html`<${Alert} kind="info">${notice}<//>`}
      <${Alert}>${error}<//>
      <form onSubmit=${submit} novalidate>
        <${Field} label="Email">${(a) => html`<input ...${a} ref=${emailRef} type="email" name="email" autocomplete="username" required value=${email} onInput=${(e) => setEmail(e.target.value)} />`}<//>
        <${Field} label="Password">${(a) => html`<input ...${a} type="password" name="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} />`}<//>
        <button type="submit" class="btn btn-primary btn-block" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </div>
    <p class="signin-foot">Accounts are created by your organization's administrator.</p>
  </main>`;
}
