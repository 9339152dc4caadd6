import type { CommandMeta } from '../command.js';
import { greetingMeta, pushBuildMeta, pushServeMeta } from './internal-meta.js';
import { logsMeta, previewsMeta, redeployMeta, releasesMeta, rollbackMeta, runMeta, statusMeta, unpinMeta } from './service-meta.js';
import { auditMeta, certsMeta, dashboardMeta, phleetMeta, registryToolMeta, syncMeta, updateMeta, versionMeta } from './ship-meta.js';
import { maintenanceMeta, pauseMeta, resumeMeta, rolloutMeta } from './traffic-meta.js';

/**
 * The one list of the running ship's commands, as metadata: what the CLI registers and its --help prints, without
 * loading a command's code. commands/command-list.ts pairs each name with its implementation (the control socket's
 * registry); its type wants exactly these names, so the two lists cannot drift.
 */
export const SHIP_COMMAND_META = [
  statusMeta,
  logsMeta,
  redeployMeta,
  releasesMeta,
  previewsMeta,
  rollbackMeta,
  unpinMeta,
  maintenanceMeta,
  pauseMeta,
  resumeMeta,
  rolloutMeta,
  runMeta,
  registryToolMeta,
  phleetMeta,
  syncMeta,
  auditMeta,
  dashboardMeta,
  certsMeta,
  versionMeta,
  updateMeta,
] as const satisfies readonly CommandMeta[];

/** The ship's own plumbing (git push's hook and session, the login greeting), on the control socket only. */
export const INTERNAL_COMMAND_META = [pushBuildMeta, pushServeMeta, greetingMeta] as const satisfies readonly CommandMeta[];

/** Every name the control socket answers. */
export type CommandName = (typeof SHIP_COMMAND_META)[number]['name'] | (typeof INTERNAL_COMMAND_META)[number]['name'];
