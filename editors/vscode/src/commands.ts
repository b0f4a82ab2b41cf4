// Command ids: the extension's own (contributed in package.json, shown in the palette) and the
// server's (workspace/executeCommand). No `vscode` import.
//
// The server's ids (am-lsp.openGrafana, …) are registered in VS Code by vscode-languageclient
// itself, from the server's executeCommandProvider, so that CodeLens clicks reach the server.
// The extension's palette commands therefore use other ids, and send the server's command with
// the cursor as argument.

/** Commands the server executes. */
export const SERVER_COMMANDS = {
  openGrafana: 'am-lsp.openGrafana',
  openExplore: 'am-lsp.openExplore',
  openPrometheus: 'am-lsp.openPrometheus',
  instrument: 'am-lsp.instrument',
  status: 'am-lsp.status',
  snapshot: 'am-lsp.snapshot',
} as const;

export type ServerCommand = (typeof SERVER_COMMANDS)[keyof typeof SERVER_COMMANDS];

/** Commands the extension contributes. */
export const EXTENSION_COMMANDS = {
  openInGrafana: 'am-lsp.openFunctionInGrafana',
  openInExplore: 'am-lsp.openFunctionInExplore',
  openInPrometheus: 'am-lsp.openFunctionInPrometheus',
  instrument: 'am-lsp.instrumentFunction',
  restart: 'am-lsp.restartServer',
  showOutput: 'am-lsp.showOutput',
  checkStatus: 'am-lsp.checkBackendStatus',
  setBearerToken: 'am-lsp.setBearerToken',
  setPassword: 'am-lsp.setPassword',
  clearSecrets: 'am-lsp.clearSecrets',
  snapshot: 'am-lsp.copyFunctionSnapshot',
} as const;

/** The palette's "open at the cursor" commands and the server command each sends. */
export const OPEN_COMMANDS: readonly { id: string; server: ServerCommand; where: string }[] = [
  { id: EXTENSION_COMMANDS.openInGrafana, server: SERVER_COMMANDS.openGrafana, where: 'Grafana' },
  { id: EXTENSION_COMMANDS.openInExplore, server: SERVER_COMMANDS.openExplore, where: 'Grafana Explore' },
  { id: EXTENSION_COMMANDS.openInPrometheus, server: SERVER_COMMANDS.openPrometheus, where: 'Prometheus' },
];

/** The text of an error a request failed with (a JSON-RPC ResponseError carries `message`). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    return err.message;
  }
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message;
  }
  return String(err);
}
