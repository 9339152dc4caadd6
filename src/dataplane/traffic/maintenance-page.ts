import type { WireMaintenance } from '../protocol/wire-traffic.js';

/** What a service under maintenance answers: the same on both planes (nginx-traffic.ts writes these into its config). */
export interface MaintenanceAnswer {
  readonly status: 503;
  readonly contentType: string;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The plain-text answer: the message on one line (the default says which service). */
export function maintenanceText(m: WireMaintenance, service: string): string {
  return `503 ${m.message || `${service} is down for maintenance`}\n`;
}

/** The HTML page: the admiral's own, or a small one made of the message. */
export function maintenanceHtml(m: WireMaintenance, service: string): string {
  if (m.html !== null) return m.html;
  const words = escapeHtml(m.message || `${service} is down for maintenance`);
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>Down for maintenance</title></head><body><h1>Down for maintenance</h1><p>${words}</p></body></html>\n`;
}

/** Whether the client asked for HTML (a browser): as nginx's map on Accept does it, `text/html` anywhere in it. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /text\/html/i.test(accept);
}

/** Whether a path under the mount (mount stripped, query cut) is one of the allowed ones: the path or below it. */
export function allowedPath(path: string, allow: readonly string[]): boolean {
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  return allow.some((a) => p === a || p.startsWith(`${a}/`));
}

export function maintenanceAnswer(m: WireMaintenance, service: string, accept: string | undefined): MaintenanceAnswer {
  const html = wantsHtml(accept);
  return {
    status: 503,
    contentType: html ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    body: html ? maintenanceHtml(m, service) : maintenanceText(m, service),
    headers: { 'retry-after': String(m.retryAfter), 'cache-control': 'no-store' },
  };
}
