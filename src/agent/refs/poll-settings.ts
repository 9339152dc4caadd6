import { numberSetting, POSITIVE, POSITIVE_SECONDS } from '../../settings/number-setting.js';
import type { PollSettings } from './remote-refs.js';

/** Default pace of a repo a webhook was seen for (seconds): pushes are told, polling only catches a lost delivery. */
export const WEBHOOK_POLL_SECONDS = 120;
/** Default bound on service repo polls per second, over all repos. */
export const POLL_RATE = 1;

/**
 * The service repo poll settings from HQ `.starphleet`, else the ship's env: STARPHLEET_SERVICE_POLL (seconds,
 * default the pulse), STARPHLEET_SERVICE_POLL_WEBHOOK (default 120), STARPHLEET_SERVICE_POLL_RATE (polls a second
 * over all repos, default 1). A bad value is a problem (returned) and its default is used.
 */
export function pollSettings(pulseSeconds: number, hqEnv: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): { settings: PollSettings; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string, dflt: number, rule = POSITIVE_SECONDS): number => {
    try {
      return numberSetting(hqEnv[name] ?? env[name], name, dflt, rule);
    } catch (e) {
      problems.push(`${(e as Error).message}: ${dflt} used`);
      return dflt;
    }
  };
  const poll = read('STARPHLEET_SERVICE_POLL', pulseSeconds);
  const webhook = read('STARPHLEET_SERVICE_POLL_WEBHOOK', Math.max(WEBHOOK_POLL_SECONDS, poll));
  const rate = read('STARPHLEET_SERVICE_POLL_RATE', POLL_RATE, POSITIVE);
  return { settings: { pollMs: poll * 1000, webhookPollMs: webhook * 1000, rate }, problems };
}
