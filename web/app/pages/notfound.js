// Any address the portal does not have, and the organization pages for a
// user who is not an organization admin.
import { html, useEffect, setTitle, Icon, Link } from '../ui.js';

export default function NotFound() {
  useEffect(() => setTitle('Not found'), []);
  return html`<div class="card"><div class="empty">
    <${Icon} name="alert" />
    <h1 tabindex="-1">Page not found</h1>
    <p>There is nothing at this address, or you do not have access to it.</p>
    <p><${Link} href="/licenses">Go to your licenses<//></p>
  </div></div>`;
}
