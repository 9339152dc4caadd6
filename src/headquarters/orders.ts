import { evaluateBashFile, type VerbCall } from './bash-eval.js';
import { parseGitRef } from './giturl.js';
import { isRegistryUrl, parseRegistryAutodeploy } from './registry-spec.js';
import { previewsFrom } from './previews-orders.js';
import { maintenanceFrom, releasePauseFrom } from './traffic-orders.js';
import { checkNumberSetting, PORT_NUMBER, POSITIVE_SECONDS } from '../settings/number-setting.js';
import type { Orders, Problem } from './types.js';
import { placementFrom } from './placement.js';
import { ordersSetPreview } from '../settings/agent-settings.js';

/** The verbs an orders file may use, defined before it is sourced. */
export const ORDERS_VERBS = ['autodeploy', 'unpublished', 'proxy_for', 'scale', 'previews', 'on', 'maintenance', 'release_pause'] as const;

const HOSTNAME = /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface OrdersResult {
  readonly orders: Orders | null;
  readonly problems: readonly Problem[];
}

/** `autodeploy url[#ref]` exactly once: shared by orders files and data `remote` files. */
export function autodeployFrom(calls: readonly VerbCall[], file: string, problems: Problem[]): { url: string; ref?: string } | null {
  const deploys = calls.filter((c) => c.verb === 'autodeploy');
  if (deploys.length === 0) {
    problems.push({ file, message: 'no autodeploy: an orders file must name its service repo with `autodeploy <git_url>`' });
    return null;
  }
  for (const extra of deploys.slice(1)) {
    problems.push({ file, line: extra.line, message: `autodeploy given again (first at line ${deploys[0]?.line})` });
  }
  const first = deploys[0] as VerbCall;
  if (first.args.length !== 1) {
    problems.push({ file, line: first.line, message: `autodeploy takes exactly one git url, got ${first.args.length} arguments` });
    return null;
  }
  const arg = first.args[0] as string;
  const parsed = isRegistryUrl(arg) ? parseRegistryAutodeploy(arg) : parseGitRef(arg);
  if ('error' in parsed) {
    problems.push({ file, line: first.line, message: `autodeploy: ${parsed.error}` });
    return null;
  }
  return parsed;
}

export async function evaluateOrders(path: string, file: string, cwd: string, timeoutMs: number): Promise<OrdersResult> {
  const res = await evaluateBashFile({ path, file, cwd, timeoutMs, verbs: ORDERS_VERBS });
  const problems: Problem[] = [...res.problems];
  const deploy = autodeployFrom(res.calls, file, problems);
  const on = placementFrom(res.calls, file, problems);
  const proxyFor: string[] = [];
  let unpublished = false;
  const scale: Record<string, number> = {};
  for (const c of res.calls) {
    if (c.verb === 'scale') {
      if (c.args.length === 0) problems.push({ file, line: c.line, message: 'scale needs <type>=<count>, e.g. scale web=2 worker=1' });
      for (const a of c.args) {
        const m = /^([A-Za-z0-9_-]+)=(\d{1,2})$/.exec(a);
        if (m && Number(m[2]) <= 32) scale[m[1] as string] = Number(m[2]);
        else problems.push({ file, line: c.line, message: `scale: expected <type>=<count from 0 to 32>, got ${JSON.stringify(a)}` });
      }
    }
    if (c.verb === 'unpublished') {
      if (c.args.length > 0) problems.push({ file, line: c.line, message: 'unpublished takes no arguments' });
      unpublished = true;
    } else if (c.verb === 'proxy_for') {
      if (c.args.length === 0) problems.push({ file, line: c.line, message: 'proxy_for needs at least one hostname' });
      for (const h of c.args) {
        if (HOSTNAME.test(h)) proxyFor.push(h.toLowerCase());
        else problems.push({ file, line: c.line, message: `proxy_for: not a hostname: ${JSON.stringify(h)}` });
      }
    }
  }
  for (const name of Object.keys(res.env)) {
    if (!ENV_NAME.test(name)) problems.push({ file, message: `exported name is not a valid environment variable: ${JSON.stringify(name)}` });
  }
  const env = res.env;
  const checks = [['PORT', PORT_NUMBER], ['PUBLISH_PORT', PORT_NUMBER], ['HEALTHCHECK_TIMEOUT', POSITIVE_SECONDS]] as const;
  for (const [key, rule] of checks) {
    const message = checkNumberSetting(env[key], key, rule);
    if (message !== null) problems.push({ file, message });
  }
  const previews = previewsFrom(res.calls, file, problems);
  const maintenance = maintenanceFrom(res.calls, file, problems);
  const releasePause = releasePauseFrom(res.calls, file, problems);
  if (previews && deploy && isRegistryUrl(deploy.url)) problems.push({ file, message: 'previews: a registry service has no branches to preview (previews need a git service repo)' });
  // The ship sets it on previews only: an orders file that set it would make production look like a preview.
  if (ordersSetPreview(env)) problems.push({ file, message: 'STARPHLEET_PREVIEW is set by the ship on preview releases: orders cannot export it' });
  if (problems.length > 0 || deploy === null) return { orders: null, problems };
  return {
    orders: { giturl: deploy.url, ...(deploy.ref !== undefined ? { ref: deploy.ref } : {}), env, unpublished, proxyFor, ...(Object.keys(scale).length > 0 ? { scale } : {}), ...(previews ? { previews } : {}), ...(on !== undefined ? { on } : {}), ...(maintenance ? { maintenance } : {}), ...(releasePause !== undefined ? { releasePause } : {}) },
    problems,
  };
}
