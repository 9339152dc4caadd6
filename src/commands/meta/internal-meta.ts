import type { CommandMeta } from '../command.js';

/**
 * The ship's plumbing on the control socket (push-build, push-serve, greeting) as metadata; the CLI never lists
 * them. Each implementation spreads its entry into its ShipCommand.
 */

export const pushBuildMeta = {
  name: 'push-build',
  summary: 'internal: build a pushed commit before git accepts it',
  usage: '<push id> <quarantine dir> <old> <new> <ref>',
  examples: ['(run by the pre-receive hook of a git push, not by hand)'],
} as const satisfies CommandMeta;

export const pushServeMeta = {
  name: 'push-serve',
  summary: 'internal: run the test instance of an accepted push',
  usage: '<push id>',
  examples: ['(run by the git session after a built push, not by hand)'],
} as const satisfies CommandMeta;

export const greetingMeta = {
  name: 'greeting',
  summary: 'internal: the greeting of an admiral\'s interactive shell',
  usage: '',
  examples: ['(run by the login shell of `ssh admiral@ship`)'],
} as const satisfies CommandMeta;
