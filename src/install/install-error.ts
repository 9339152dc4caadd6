/** A refusal of install, uninstall or stop that the CLI prints as it is (exit 2), without a stack. */
export class InstallError extends Error {}
