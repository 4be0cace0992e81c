// What every handler gets: the request, its parsed URL and the emulator's shared state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { ObjectStore } from './store.js';
import type { UploadSessions } from './resumable.js';

export interface EmulatorState {
  store: ObjectStore;
  sessions: UploadSessions;
  /** Public keys trusted for V4 signed URLs, by service-account email. */
  trustedKeys: Map<string, KeyObject>;
  projectId: string;
  log: Logger;
  /** `http://host:port` of the emulator, for links when no Host header is available. */
  url: string;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** `http://host:port` as the client addressed us. */
  baseUrl: string;
  state: EmulatorState;
}
