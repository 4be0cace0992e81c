import type { ModelDescriptor } from '../pipeline/contract.js';

export type ReadinessState =
  | { phase: 'loading'; reason?: string }
  | { phase: 'warming' }
  | { phase: 'ready'; model: ModelDescriptor; warm: boolean }
  | { phase: 'failed'; reason: string }
  | { phase: 'draining' };

/** Where the worker is in its life, for /readyz and the push endpoint. */
export class Readiness {
  private current: ReadinessState = { phase: 'loading' };

  get state(): ReadinessState {
    return this.current;
  }
  get isReady(): boolean {
    return this.current.phase === 'ready';
  }
  loading(reason?: string): void {
    if (this.current.phase !== 'draining') this.current = reason ? { phase: 'loading', reason } : { phase: 'loading' };
  }
  warming(): void {
    if (this.current.phase !== 'draining') this.current = { phase: 'warming' };
  }
  /** Model loaded; `warm` once a first inference has run (jobs are taken either way). */
  ready(model: ModelDescriptor, warm = true): void {
    if (this.current.phase !== 'draining') this.current = { phase: 'ready', model, warm };
  }
  warmed(): void {
    if (this.current.phase === 'ready') this.current = { ...this.current, warm: true };
  }
  failed(reason: string): void {
    if (this.current.phase !== 'draining') this.current = { phase: 'failed', reason };
  }
  draining(): void {
    this.current = { phase: 'draining' };
  }
}
