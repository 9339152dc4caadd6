// The service repo poll settings are read in src/settings/agent-settings.ts (HQ `.starphleet`, else the ship's env).
export { POLL_RATE, pollSettings, WEBHOOK_POLL_SECONDS } from '../../settings/agent-settings.js';
