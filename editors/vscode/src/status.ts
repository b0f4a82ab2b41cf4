// What the status bar item says, from the server's am-lsp.status answer and the client's state.
// No `vscode` import: the glue maps `severity` to a theme colour.

import { redactUrl } from './settings';

/** The answer of the server's am-lsp.status command. */
export interface BackendStatus {
  /** The backend's URL, without credentials. */
  backend: string;
  ok: boolean;
  reason: string;
}

/** How often the extension asks the server for the backend's status. */
export const STATUS_POLL_MS = 30_000;

/** Reads an am-lsp.status answer; undefined when it does not have that shape. */
export function parseStatus(answer: unknown): BackendStatus | undefined {
  if (typeof answer !== 'object' || answer === null) {
    return undefined;
  }
  const a = answer as Record<string, unknown>;
  if (typeof a['ok'] !== 'boolean') {
    return undefined;
  }
  return {
    ok: a['ok'],
    backend: typeof a['backend'] === 'string' ? a['backend'] : '',
    reason: typeof a['reason'] === 'string' ? a['reason'] : '',
  };
}

export type StatusState =
  | { kind: 'starting' }
  | { kind: 'stopped'; reason?: string }
  | { kind: 'backend'; status: BackendStatus }
  | { kind: 'unknown'; error: string };

export interface StatusView {
  text: string;
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
}

const CLICK = 'Click to show the am-lsp output.';

/** The status bar item's text, tooltip and severity for a state. */
export function statusView(state: StatusState): StatusView {
  switch (state.kind) {
    case 'starting':
      return { text: '$(sync~spin) am-lsp', tooltip: `am-lsp is starting…\n${CLICK}`, severity: 'normal' };
    case 'stopped':
      return {
        text: '$(error) am-lsp: not running',
        tooltip: `${state.reason ?? 'The am-lsp server is not running.'}\nRun "am-lsp: Restart Server" to start it again. ${CLICK}`,
        severity: 'error',
      };
    case 'unknown':
      return {
        text: '$(question) am-lsp',
        tooltip: `The server did not answer am-lsp.status: ${state.error}\n${CLICK}`,
        severity: 'normal',
      };
    case 'backend': {
      const backend = state.status.backend !== '' ? redactUrl(state.status.backend) : 'the backend';
      if (state.status.ok) {
        return {
          text: '$(pulse) am-lsp',
          tooltip: `${backend} answers.${state.status.reason !== '' ? `\n${state.status.reason}` : ''}\n${CLICK}`,
          severity: 'normal',
        };
      }
      return {
        text: '$(warning) am-lsp: Prometheus unreachable',
        tooltip: `${backend}: ${state.status.reason !== '' ? state.status.reason : 'no answer'}\n${CLICK}`,
        severity: 'warning',
      };
    }
  }
}
