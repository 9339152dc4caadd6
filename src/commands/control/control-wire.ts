/**
 * What crosses the ship's control socket (control-socket.ts serves it, control-client.ts calls it): its path, the
 * request and the answer lines. Apart from the server so a client loads none of the commands the server runs.
 */

export interface ControlRequest {
  readonly argv: readonly string[];
  /** STARPHLEET_SESSION of the admiral's SSH session the CLI runs in (session-tokens.ts), if any. */
  readonly session?: string;
}

export type ControlMessage = { readonly out: string } | { readonly err: string } | { readonly exit: number };

/** The variable an admiral's SSH session gives its shell: the token of the session (session-tokens.ts), sent with a request. */
export const SESSION_ENV = 'STARPHLEET_SESSION';

export function controlSocketPath(dataDir: string): string {
  return `${dataDir}/control.sock`;
}

/** The first line the ship sends a `run` client (commands/run-client.ts): the launch to spawn, as JSON after this mark. */
export const RUN_LAUNCH_MARK = 'starphleet-run-launch ';
