import { hidden, html, page } from './page.ts';

/** The login form, and the page shown when no admin token is configured. */

export function loginPage(o: { next: string; error?: string; status?: number }): string {
  return page({
    title: 'Log in',
    body: html`<form method="post" action="/admin/login">
!${hidden('next', o.next)}
!${o.error ? html`<p class="problem" role="alert">${o.error}</p>` : ''}
<label for="token">Admin or viewer token</label>
<input id="token" type="password" name="token" autocomplete="current-password" required autofocus maxlength="1000">
<p><button type="submit">Log in</button></p>
<p class="muted">The token is <code>server.adminToken</code> (or <code>server.viewerToken</code> to look without changing anything) from the gateway's config.</p>
</form>`,
  });
}

export function consoleOffPage(): string {
  return page({
    title: 'The console is off',
    body: html`<p>No admin token is configured, so the console and the <code>/admin</code> API are turned off.</p>
<p>To turn them on, set <code>server.adminToken</code> to a secret of at least 16 characters (for example
<code>adminToken: \${ADMIN_TOKEN}</code> with <code>ADMIN_TOKEN=$(openssl rand -hex 24)</code> in the environment)
and restart the gateway. Optionally add <code>server.viewerToken</code> for people who may look but not change anything.</p>
<p>See <code>docs/console.md</code>.</p>`,
  });
}
