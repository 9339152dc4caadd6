/**
 * What the run side tells whoever listens (notifications, metrics): deploys, builds, rollbacks, restarts, crash loops.
 * Listeners are called synchronously and must not block or throw into the agent (AgentEvents guards them).
 */
/** On a preview's deploy events (docs/previews.md): what it previews and where it answers. */
export interface PreviewOfEvent {
  readonly service: string;
  readonly branch: string;
  readonly url: string;
  readonly hosts: readonly string[];
}

export type AgentEvent =
  | { readonly kind: 'deploy-started'; readonly service: string; readonly sha: string; readonly trigger: string; readonly preview?: PreviewOfEvent }
  | {
      readonly kind: 'deploy-finished';
      readonly preview?: PreviewOfEvent;
      readonly service: string;
      readonly sha: string;
      readonly result: 'serving' | 'failed' | 'cancelled';
      readonly release: string | null;
      readonly reason: string;
      readonly seconds: number;
    }
  | { readonly kind: 'build-finished'; readonly service: string; readonly sha: string; readonly ok: boolean; readonly seconds: number }
  | {
      readonly kind: 'rollback-finished';
      readonly service: string;
      readonly release: string;
      readonly sha: string;
      readonly by: string;
      readonly ok: boolean;
      readonly reason: string;
      readonly seconds: number;
    }
  | { readonly kind: 'instance-restarted'; readonly service: string; readonly release: string; readonly process: string }
  | { readonly kind: 'crash-loop'; readonly service: string; readonly release: string; readonly reason: string; readonly fallback: string | null };

export type AgentEventListener = (e: AgentEvent) => void;

/** The agent's listeners: each event goes to every one; one that throws is logged, the others still hear it. */
export class AgentEvents {
  private readonly listeners: AgentEventListener[] = [];

  constructor(private readonly log: (line: string) => void) {}

  listen(listener: AgentEventListener): void {
    this.listeners.push(listener);
  }

  emit(e: AgentEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log(`agent event listener failed: ${(err as Error).message}`);
      }
    }
  }
}
