// The glue between VS Code, vscode-languageclient and the pure modules: starts am-lsp, feeds it
// the settings (with the secrets) and turns the palette commands into server commands. Logic
// worth testing lives in settings.ts, slo.ts, prompts.ts, status.ts and serverPath.ts.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { EXTENSION_COMMANDS, OPEN_COMMANDS, SERVER_COMMANDS, errorText } from './commands';
import { SNAPSHOT_COPIED, snapshotMarkdown } from './snapshot';
import { type PromptWindow, promptInstrumentation, promptSecret } from './prompts';
import { resolveServerPath } from './serverPath';
import {
  SECRETS,
  SECRET_KEYS,
  SECTION,
  type SecretKey,
  type SecretValues,
  type ServerSettings,
  answerConfiguration,
  misplacedSecrets,
  redactSettings,
  toServerSettings,
} from './settings';
import { instrumentArgument } from './slo';
import { STATUS_POLL_MS, type StatusState, parseStatus, statusView } from './status';

const OPEN_SETTING = 'Open Setting';
const SHOW_OUTPUT = 'Show Output';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  controller = new Controller(context);
  context.subscriptions.push(controller);
  await controller.start();
}

export async function deactivate(): Promise<void> {
  const c = controller;
  controller = undefined;
  await c?.stop();
}

const promptWindow: PromptWindow = {
  showQuickPick: (items, options) => vscode.window.showQuickPick(items, options),
  showInputBox: (options) => vscode.window.showInputBox(options),
  showErrorMessage: (message) => vscode.window.showErrorMessage(message),
};

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly output: vscode.LogOutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: { dispose(): unknown }[] = [];
  private readonly poll: ReturnType<typeof setInterval>;
  /** Starts and stops run one after the other. */
  private lifecycle: Promise<void> = Promise.resolve();
  private statusInFlight = false;
  private statusAgain = false;
  /** The warnings last shown about the settings, so that each is shown once. */
  private shownProblems = '';

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('am-lsp', { log: true });
    this.statusItem = vscode.window.createStatusBarItem('am-lsp.status', vscode.StatusBarAlignment.Right, 100);
    this.statusItem.name = 'am-lsp';
    this.statusItem.command = EXTENSION_COMMANDS.showOutput;
    this.setStatus({ kind: 'starting' });
    this.statusItem.show();
    this.disposables.push(this.output, this.statusItem);

    const register = (id: string, run: () => unknown): void => {
      this.disposables.push(vscode.commands.registerCommand(id, run));
    };
    for (const open of OPEN_COMMANDS) {
      register(open.id, () => this.openAtCursor(open.server, open.where));
    }
    register(EXTENSION_COMMANDS.instrument, () => this.instrument());
    register(EXTENSION_COMMANDS.snapshot, () => this.snapshot());
    register(EXTENSION_COMMANDS.restart, () => this.restart());
    register(EXTENSION_COMMANDS.showOutput, () => {
      this.output.show(true);
    });
    register(EXTENSION_COMMANDS.checkStatus, () => this.refreshStatus());
    register(EXTENSION_COMMANDS.setBearerToken, () => this.setSecret('bearerToken'));
    register(EXTENSION_COMMANDS.setPassword, () => this.setSecret('password'));
    register(EXTENSION_COMMANDS.clearSecrets, () => this.clearSecrets());

    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.serverPath`)) {
          void this.restart();
        } else if (e.affectsConfiguration(SECTION)) {
          void this.pushSettings();
        }
      }),
      context.secrets.onDidChange((e) => {
        if (SECRET_KEYS.some((k) => SECRETS[k].storageKey === e.key)) {
          void this.pushSettings();
        }
      }),
    );
    this.poll = setInterval(() => void this.refreshStatus(), STATUS_POLL_MS);
    this.poll.unref();
  }

  dispose(): void {
    clearInterval(this.poll);
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }

  start(): Promise<void> {
    return this.serialized(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.serialized(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.serialized(async () => {
      this.output.info('Restarting am-lsp');
      await this.doStop();
      await this.doStart();
    });
  }

  /** Runs a start or stop after the previous one; an unexpected error is logged and shown as stopped. */
  private serialized(step: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      try {
        await step();
      } catch (err) {
        const message = `am-lsp: ${errorText(err)}`;
        this.output.error(message);
        this.setStatus({ kind: 'stopped', reason: message });
      }
    };
    const next = this.lifecycle.then(run);
    this.lifecycle = next;
    return next;
  }

  private async doStart(): Promise<void> {
    this.setStatus({ kind: 'starting' });
    const configured = vscode.workspace.getConfiguration(SECTION).get<unknown>('serverPath');
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    const found = resolveServerPath(typeof configured === 'string' ? configured : '', {
      env: process.env,
      platform: process.platform,
      homedir: os.homedir(),
      ...(folder !== undefined ? { workspaceFolder: folder.uri.fsPath } : {}),
      isExecutable,
    });
    if (!found.ok) {
      this.output.error(found.message);
      if (found.searched.length > 0) {
        this.output.info(`Looked for: ${found.searched.join(', ')}`);
      }
      this.setStatus({ kind: 'stopped', reason: found.message });
      void this.showStartError(found.message);
      return;
    }
    this.output.info(`Starting ${found.path} serve (found via ${found.source})`);

    const settings = await this.currentSettings();
    this.output.debug(`Settings: ${JSON.stringify(redactSettings(settings))}`);
    const serverOptions: ServerOptions = { command: found.path, args: ['serve'], options: { env: process.env } };
    const clientOptions: LanguageClientOptions = {
      // Go files on disk only, like the server analyses them; gopls keeps every other feature.
      documentSelector: [{ scheme: 'file', language: 'go' }],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: settings,
      middleware: {
        // The lens changes when the server has new numbers (it sends workspace/codeLens/refresh
        // then): ask for the backend's status too, so the status bar's tooltip says what the lens
        // shows instead of waiting for the next poll.
        provideCodeLenses: async (document, token, next) => {
          const lenses = await next(document, token);
          void this.refreshStatus();
          return lenses;
        },
        workspace: {
          configuration: async (params, token, next) => {
            const mine = await this.currentSettings();
            let others: unknown[] | undefined;
            const needOthers = params.items.some((i) => i.section !== SECTION && !i.section?.startsWith(`${SECTION}.`));
            if (needOthers) {
              const res: unknown = await next(params, token);
              others = Array.isArray(res) ? res : undefined;
            }
            return answerConfiguration(params.items, mine, (_item, i) => others?.[i] ?? null);
          },
        },
      },
    };
    const client = new LanguageClient('am-lsp', 'am-lsp', serverOptions, clientOptions);
    client.onDidChangeState((e) => {
      if (this.client !== client) {
        return;
      }
      if (e.newState === State.Stopped) {
        this.setStatus({ kind: 'stopped' });
      } else if (e.newState === State.Running) {
        void this.refreshStatus();
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const message = `The am-lsp server (${found.path}) failed to start: ${errorText(err)}`;
      this.output.error(message);
      this.setStatus({ kind: 'stopped', reason: message });
      await disposeQuietly(client);
      void this.showStartError(message);
      return;
    }
    const info = client.initializeResult?.serverInfo;
    this.output.info(`Connected to ${info?.name ?? 'am-lsp'} ${info?.version ?? ''}`.trimEnd());
    await this.refreshStatus();
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      await disposeQuietly(client);
    }
    this.setStatus({ kind: 'stopped', reason: 'The am-lsp server was stopped.' });
  }

  private async showStartError(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(`am-lsp: ${message}`, OPEN_SETTING, SHOW_OUTPUT);
    if (choice === OPEN_SETTING) {
      await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.serverPath`);
    } else if (choice === SHOW_OUTPUT) {
      this.output.show(true);
    }
  }

  /** The settings object the server receives now; warns (once) about values it had to replace. */
  private async currentSettings(): Promise<ServerSettings> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const read = (key: string): unknown => config.get<unknown>(key);
    const secrets: SecretValues = {};
    for (const k of SECRET_KEYS) {
      try {
        secrets[k] = await this.context.secrets.get(SECRETS[k].storageKey);
      } catch (err) {
        // No usable keychain: go on without this secret rather than without the server.
        this.output.warn(`Could not read the ${SECRETS[k].label} from VS Code's secret storage: ${errorText(err)}`);
      }
    }
    const { settings, problems } = toServerSettings(read, secrets, process.env);
    const misplaced = misplacedSecrets(read);
    const key = JSON.stringify([problems, misplaced]);
    if (key !== this.shownProblems) {
      this.shownProblems = key;
      for (const p of problems) {
        this.output.warn(p);
        void vscode.window.showWarningMessage(`am-lsp: ${p}`);
      }
      for (const k of misplaced) {
        void this.warnMisplacedSecret(k);
      }
    }
    return settings;
  }

  private async warnMisplacedSecret(key: SecretKey): Promise<void> {
    const { label, title } = SECRETS[key];
    const command = key === 'bearerToken' ? EXTENSION_COMMANDS.setBearerToken : EXTENSION_COMMANDS.setPassword;
    const action = `Set ${title}`;
    this.output.warn(`${SECTION}.${key} is in settings.json and is ignored`);
    const choice = await vscode.window.showWarningMessage(
      `am-lsp: ${SECTION}.${key} is in settings.json, where am-lsp never reads a ${label}. ` +
        `Store it with "am-lsp: ${action}" and delete it from settings.json.`,
      action,
    );
    if (choice === action) {
      await vscode.commands.executeCommand(command);
    }
  }

  /** Sends the whole settings object to the running server, then asks for the backend's status. */
  private async pushSettings(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      return;
    }
    const settings = await this.currentSettings();
    try {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings });
    } catch (err) {
      this.output.error(`Sending the settings failed: ${errorText(err)}`);
      return;
    }
    await this.refreshStatus();
  }

  /** Asks the server whether the backend answers, and shows it in the status bar. */
  private async refreshStatus(): Promise<void> {
    if (this.statusInFlight) {
      this.statusAgain = true;
      return;
    }
    this.statusInFlight = true;
    try {
      do {
        const client = this.client;
        if (!client?.isRunning()) {
          return;
        }
        try {
          const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
            command: SERVER_COMMANDS.status,
            arguments: [],
          });
          const status = parseStatus(answer);
          if (this.client === client) {
            this.setStatus(
              status !== undefined
                ? { kind: 'backend', status }
                : { kind: 'unknown', error: `unexpected answer ${JSON.stringify(answer)}` },
            );
          }
        } catch (err) {
          if (this.client === client && client.isRunning()) {
            this.setStatus({ kind: 'unknown', error: errorText(err) });
          }
        }
      } while (this.takeStatusAgain());
    } finally {
      this.statusInFlight = false;
    }
  }

  /** Whether a status refresh was asked for while one was in flight (and clears the request). */
  private takeStatusAgain(): boolean {
    const again = this.statusAgain;
    this.statusAgain = false;
    return again;
  }

  private setStatus(state: StatusState): void {
    const view = statusView(state);
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor =
      view.severity === 'normal'
        ? undefined
        : new vscode.ThemeColor(view.severity === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
  }

  /** The running client and the Go editor the command applies to, or undefined after telling why. */
  private async cursor(): Promise<{ client: LanguageClient; editor: vscode.TextEditor } | undefined> {
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.languageId !== 'go' || editor.document.uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('am-lsp: put the cursor on a function in a Go file first.');
      return undefined;
    }
    await this.lifecycle;
    const client = this.client;
    if (!client?.isRunning()) {
      void this.showStartError('The am-lsp server is not running.');
      return undefined;
    }
    return { client, editor };
  }

  private async openAtCursor(command: string, where: string): Promise<void> {
    const at = await this.cursor();
    if (at === undefined) {
      return;
    }
    const conv = at.client.code2ProtocolConverter;
    const arg = { uri: conv.asUri(at.editor.document.uri), position: conv.asPosition(at.editor.selection.active) };
    try {
      // The server opens the URL itself (window/showDocument, external).
      await at.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [arg] });
    } catch (err) {
      void vscode.window.showErrorMessage(`am-lsp: could not open the function in ${where}: ${errorText(err)}`);
    }
  }

  /** Asks the server for the snapshot of the function at the cursor and copies it. */
  private async snapshot(): Promise<void> {
    const at = await this.cursor();
    if (at === undefined) {
      return;
    }
    const conv = at.client.code2ProtocolConverter;
    const arg = { uri: conv.asUri(at.editor.document.uri), position: conv.asPosition(at.editor.selection.active) };
    try {
      const md = snapshotMarkdown(await at.client.sendRequest(ExecuteCommandRequest.type, { command: SERVER_COMMANDS.snapshot, arguments: [arg] }));
      if (md === undefined) {
        void vscode.window.showErrorMessage('am-lsp: the server answered no snapshot (is it older than this extension?)');
        return;
      }
      await vscode.env.clipboard.writeText(md);
      void vscode.window.showInformationMessage(SNAPSHOT_COPIED);
    } catch (err) {
      void vscode.window.showErrorMessage(`am-lsp: could not take the snapshot: ${errorText(err)}`);
    }
  }

  private async instrument(): Promise<void> {
    const at = await this.cursor();
    if (at === undefined) {
      return;
    }
    // Taken before the prompts, which move the focus away from the editor.
    const conv = at.client.code2ProtocolConverter;
    const uri = conv.asUri(at.editor.document.uri);
    const position = conv.asPosition(at.editor.selection.active);
    const choice = await promptInstrumentation(promptWindow);
    if (choice === undefined) {
      return;
    }
    try {
      // The server edits the file through workspace/applyEdit.
      await at.client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_COMMANDS.instrument,
        arguments: [instrumentArgument(uri, position, choice.slo)],
      });
    } catch (err) {
      void vscode.window.showErrorMessage(`am-lsp: could not instrument the function: ${errorText(err)}`);
    }
  }

  private async setSecret(key: SecretKey): Promise<void> {
    const { storageKey, label } = SECRETS[key];
    const stored = await this.context.secrets.get(storageKey);
    const answer = await promptSecret(promptWindow, key, stored !== undefined && stored !== '');
    if (answer === undefined) {
      return;
    }
    if (answer.action === 'store') {
      await this.context.secrets.store(storageKey, answer.value);
      void vscode.window.showInformationMessage(`am-lsp: the ${label} is stored in VS Code's secret storage.`);
    } else {
      await this.context.secrets.delete(storageKey);
      void vscode.window.showInformationMessage(`am-lsp: the ${label} is deleted.`);
    }
    await this.pushSettings();
  }

  private async clearSecrets(): Promise<void> {
    for (const k of SECRET_KEYS) {
      await this.context.secrets.delete(SECRETS[k].storageKey);
    }
    void vscode.window.showInformationMessage("am-lsp: the bearer token and the password are deleted from VS Code's secret storage.");
    await this.pushSettings();
  }
}

async function disposeQuietly(client: LanguageClient): Promise<void> {
  try {
    await client.dispose();
  } catch {
    // A client that never got running cannot be stopped; there is nothing left to release.
  }
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}
