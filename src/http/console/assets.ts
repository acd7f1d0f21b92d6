/**
 * The console's style sheet and its one script, served from /admin/assets/ so the pages can
 * forbid inline code (Content-Security-Policy). No build step: they are written as they run.
 */

export const CSS = `
:root { color-scheme: light dark; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --idle: #6e7781; --line: #d0d7de; --bg2: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --line: #30363d; --bg2: #161b22; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --idle: #8b949e; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--bg2); }
.brand { font-weight: 700; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
.logout { margin-left: auto; }
.role { color: var(--idle); font-size: .9em; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
a { color: #0969da; }
@media (prefers-color-scheme: dark) { a { color: #58a6ff; } }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: .5rem; background: Canvas; padding: .25rem .5rem; z-index: 1; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; vertical-align: top; padding: .4rem .5rem; border-bottom: 1px solid var(--line); }
th { background: var(--bg2); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; border: 1px solid currentColor; font-size: .85rem; white-space: nowrap; }
.badge.ok { color: var(--ok); } .badge.warn { color: var(--warn); } .badge.bad { color: var(--bad); } .badge.idle { color: var(--idle); }
.notice { padding: .5rem .75rem; border-left: 4px solid var(--ok); background: var(--bg2); }
.notice.bad { border-color: var(--bad); }
.problem { color: var(--bad); }
.muted { color: var(--idle); }
pre, .verbatim { white-space: pre-wrap; word-break: break-word; font: .85rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: var(--bg2); padding: .4rem .5rem; margin: .25rem 0; max-height: 20rem; overflow: auto; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .25rem 1rem; margin: .25rem 0; font-size: .9rem; }
.facts div { display: flex; gap: .4rem; } .facts dt { color: var(--idle); } .facts dd { margin: 0; word-break: break-word; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); gap: .75rem; }
/* On a phone a wide table becomes one block per row, each cell labelled. */
@media (max-width: 40rem) {
  table.stack thead { display: none; }
  table.stack tr, table.stack th, table.stack td { display: block; border: 0; padding: .2rem 0; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
  table.stack td[data-label]::before { content: attr(data-label) ": "; color: var(--idle); }
}
.card { border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; }
.card .big { font-size: 1.6rem; font-weight: 700; }
.card.urgent { border-color: var(--bad); }
.classes { margin: .25rem 0 0; font-size: .9rem; } .classes div { display: flex; justify-content: space-between; gap: .5rem; } .classes dt { color: var(--idle); } .classes dd { margin: 0; font-weight: 700; }
form.inline { display: inline; }
label { display: block; margin: .5rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=password], input[type=search], select, textarea { width: 100%; max-width: 40rem; font: inherit; padding: .35rem .5rem; }
textarea { min-height: 6rem; }
button { font: inherit; padding: .3rem .8rem; cursor: pointer; }
button.danger { color: var(--bad); }
.row { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
.row > div { flex: 1 1 12rem; }
ol.path { padding-left: 1.2rem; } ol.path li { margin: .35rem 0; }
.qr { max-width: 100%; width: 320px; image-rendering: pixelated; background: #fff; padding: 8px; }
.updated { font-size: .85rem; color: var(--idle); }
`;

/**
 * - `[data-refresh]`: replaced every 5 s by a fresh copy of the same element from the server
 *   (skipped while the page is hidden or focus is inside it, so keyboard users keep their place).
 * - `[data-select-all]`: a checkbox that ticks every box of its form.
 */
export const SCRIPT = `
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const first of document.querySelectorAll('[data-refresh]')) {
    const url = first.getAttribute('data-refresh');
    const id = first.id;
    setInterval(async () => {
      const region = document.getElementById(id);
      if (!region || document.hidden || region.contains(document.activeElement)) return;
      try {
        const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'text/html' } });
        if (res.status === 401) { location.assign('/admin/login?next=' + encodeURIComponent(location.pathname + location.search)); return; }
        if (!res.ok) return;
        const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
        const fresh = doc.getElementById(id);
        if (fresh) region.replaceWith(fresh);
      } catch { /* the next tick tries again */ }
    }, 5000);
  }
  for (const box of document.querySelectorAll('input[data-select-all]')) {
    box.addEventListener('change', () => {
      for (const other of box.form.querySelectorAll('input[type=checkbox][name=id]')) other.checked = box.checked;
    });
  }
});
`;
