import { html, Raw } from './html.js';
import type { DashboardView } from './view.js';
import { describeTraffic } from '../agent/traffic/status.js';

const short = (sha: string | null | undefined): string => (sha ? sha.slice(0, 7) : '—');
const time = (iso: string | null | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

function health(state: string, message: string): Raw {
  const ok = state === 'serving';
  return html`<span class="state ${ok ? 'ok' : state === 'failed' ? 'bad' : 'busy'}">${ok ? 'healthy' : state}</span>${message ? html` <span class="msg">${message}</span>` : ''}`;
}

function processes(p: Readonly<Record<string, number>>): string {
  const parts = Object.entries(p).map(([type, n]) => `${type}=${n}`);
  return parts.length > 0 ? parts.join(' ') : '0';
}

/** The part of the page app.js refreshes (GET /api/overview). */
export function overview(v: DashboardView): Raw {
  const s = v.status;
  const previewNames = new Set(s.previews.map((p) => p.name));
  const services = s.services.filter((x) => !previewNames.has(x.name)).map(
    (x) => html`<tr data-service="${x.name}"><td>${x.name}</td><td>${x.mount}</td><td class="st">${x.state}</td><td><code>${short(x.sha)}</code></td><td><code>${x.release ?? '—'}</code>${x.pin ? html` <span class="pin">pinned</span>` : ''}</td><td>${health(x.state, x.message)}${x.traffic ? html` <span class="pin traffic">${describeTraffic(x.traffic, x.release)}</span>` : ''}</td><td>${processes(x.processes)}</td></tr>`,
  );
  const deploys = v.deploys.map(
    (d) => html`<tr><td>${time(d.at)}</td><td>${d.service}</td><td><code>${short(d.sha)}</code></td><td><code>${d.release ?? '—'}</code></td><td>${d.trigger}</td><td class="result ${d.result}">${d.result}</td><td class="msg">${d.reason}</td></tr>`,
  );
  const problems = s.problems.map((p) => html`<li>${p}</li>`);
  const previews = s.previews.map(
    (p) => html`<tr data-preview="${p.name}"><td>${p.service}</td><td>${p.branch}</td><td><code>${short(p.sha)}</code></td><td>${health(p.state, p.message)}</td><td>${time(p.since)}</td><td>${[p.url, ...p.hostUrls].filter((u): u is string => u !== null).map((u) => (/^https?:\/\//.test(u) ? html`<a href="${u}">${u}</a> ` : html`${u} `))}</td></tr>`,
  );
  return html`
<section id="ship"><h2>Ship</h2><dl>
<dt>name</dt><dd>${s.ship.name}</dd><dt>version</dt><dd>${s.ship.version}</dd>
<dt>headquarters</dt><dd>${s.ship.headquarters.url} at <code>${short(s.ship.headquarters.sha)}</code></dd>
<dt>last HQ check</dt><dd>${time(v.checkedAt)}${v.lastSync?.result === 'failed' ? html` <span class="state bad">sync failed: ${v.lastSync.message}</span>` : ''}</dd>
<dt>sandbox</dt><dd>${s.ship.sandbox}</dd></dl></section>
<section id="services"><h2>Services</h2>${
    services.length > 0
      ? html`<table><thead><tr><th>service</th><th>mount</th><th>state</th><th>sha</th><th>release</th><th>health</th><th>processes</th></tr></thead><tbody>${services}</tbody></table>`
      : html`<p>HQ orders no service.</p>`
  }</section>
${
    previews.length > 0
      ? html`<section id="previews"><h2>Previews</h2><table><thead><tr><th>service</th><th>branch</th><th>commit</th><th>state</th><th>since</th><th>url</th></tr></thead><tbody>${previews}</tbody></table></section>`
      : ''
  }
<section id="deploys"><h2>Recent deploys</h2>${
    deploys.length > 0
      ? html`<table><thead><tr><th>at</th><th>service</th><th>sha</th><th>release</th><th>trigger</th><th>result</th><th>reason</th></tr></thead><tbody>${deploys}</tbody></table>`
      : html`<p>No deploy yet.</p>`
  }</section>
<section id="problems"><h2>HQ problems</h2>${problems.length > 0 ? html`<ul>${problems}</ul>` : html`<p>None.</p>`}</section>`;
}

/**
 * The page: a shell without data (the same for anyone who reaches the listener), one stylesheet and one script of our
 * own (no CDN, no inline script). app.js logs in with the link's token and fills it from /api/ with the session.
 */
export function shell(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>starphleet dashboard</title><link rel="stylesheet" href="/style.css"></head>
<body><header><h1>starphleet <span class="ship" id="ship-name"></span></h1><span class="who" id="who"></span></header>
<main><section id="door" class="notice" hidden><h1 id="door-title"></h1><p id="door-text"></p><pre>${LOGIN_COMMAND}</pre></section>
<div id="overview"></div>
<section id="logs" hidden><h2>Live log</h2><label>service <select id="log-service"></select></label> <span id="log-state"></span>
<div id="log-lines" role="log" aria-live="polite"></div></section></main>
<script src="/app.js"></script></body></html>
`;
}

const LOGIN_COMMAND = 'ssh -p 2222 admiral@&lt;ship&gt; starphleet dashboard';
