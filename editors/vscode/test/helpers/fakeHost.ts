// Stand-ins for the `vscode` module and for vscode-languageclient's LanguageClient, so that the
// glue (src/extension.ts) runs on Node's test runner: a real VS Code cannot be downloaded here.
// Each stands in only for what the extension calls; a Host records what the extension did.

import * as Module from 'node:module';

import { manifestDefaults } from './manifest';

export interface Message {
  level: 'error' | 'warning' | 'info';
  text: string;
  items: string[];
}

export interface SentRequest {
  method: string;
  params: { command?: string; arguments?: unknown[] };
}

type Listener<T> = (e: T) => void;

class Emitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (l: Listener<T>) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) {
      l(e);
    }
  }
}

export const State = { Stopped: 1, Starting: 3, Running: 2 } as const;

/** One LanguageClient the extension created. */
export class FakeClient {
  state: number = State.Stopped;
  disposed = false;
  readonly requests: SentRequest[] = [];
  readonly notifications: { method: string; params: unknown }[] = [];
  private readonly stateEmitter = new Emitter<{ oldState: number; newState: number }>();
  readonly onDidChangeState = this.stateEmitter.event;
  initializeResult: { serverInfo: { name: string; version: string } } | undefined;
  readonly code2ProtocolConverter = {
    asUri: (u: { toString(): string }) => u.toString(),
    asPosition: (p: { line: number; character: number }) => ({ line: p.line, character: p.character }),
  };

  constructor(
    private readonly host: Host,
    readonly id: string,
    readonly name: string,
    readonly serverOptions: { command: string; args: string[]; options?: { env?: unknown } },
    readonly clientOptions: {
      documentSelector: unknown;
      initializationOptions: Record<string, unknown>;
      middleware: {
        provideCodeLenses(document: unknown, token: unknown, next: (d: unknown, t: unknown) => unknown): Promise<unknown>;
        workspace: {
          configuration(params: { items: { section?: string }[] }, token: unknown, next: (p: unknown, t: unknown) => unknown): Promise<unknown[]>;
        };
      };
      outputChannel: unknown;
    },
  ) {
    host.clients.push(this);
  }

  isRunning(): boolean {
    return this.state === State.Running;
  }

  async start(): Promise<void> {
    this.setState(State.Starting);
    if (this.host.startError !== undefined) {
      this.setState(State.Stopped);
      throw new Error(this.host.startError);
    }
    this.initializeResult = { serverInfo: { name: 'am-lsp', version: 'v0.0.0-test' } };
    this.setState(State.Running);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.state === State.Running) {
      this.setState(State.Stopped);
    } else {
      throw new Error('Client is not running and can\'t be stopped');
    }
  }

  /** The server crashed (languageclient gave up restarting it). */
  crash(): void {
    this.setState(State.Stopped);
  }

  async sendRequest(type: { method: string }, params: SentRequest['params']): Promise<unknown> {
    this.requests.push({ method: type.method, params });
    return this.host.answer(type.method, params);
  }

  async sendNotification(type: { method: string }, params: unknown): Promise<void> {
    this.notifications.push({ method: type.method, params });
  }

  private setState(newState: number): void {
    const oldState = this.state;
    this.state = newState;
    this.stateEmitter.fire({ oldState, newState });
  }
}

export class FakeUri {
  readonly scheme: string;
  constructor(private readonly value: string) {
    this.scheme = value.slice(0, value.indexOf(':'));
  }
  get fsPath(): string {
    return this.value.replace(/^file:\/\//, '');
  }
  toString(): string {
    return this.value;
  }
}

export interface Editor {
  document: { uri: FakeUri; languageId: string };
  selection: { active: { line: number; character: number } };
}

/** Everything the extension touched, and knobs for what VS Code and the server answer. */
export class Host {
  /** User values of "am-lsp.<key>" settings (unset keys give the package.json default). */
  config: Record<string, unknown> = {};
  readonly defaults = manifestDefaults();
  readonly secrets = new Map<string, string>();
  /** SecretStorage.get fails (no usable keychain). */
  secretsBroken = false;
  readonly commands = new Map<string, (...args: unknown[]) => unknown>();
  readonly executed: { id: string; args: unknown[] }[] = [];
  readonly messages: Message[] = [];
  /** Which button the user clicks on a message (undefined: closes it). */
  messageChoice: (m: Message) => string | undefined = () => undefined;
  readonly quickPicks: string[][] = [];
  quickPickAnswers: (string | undefined)[] = [];
  inputAnswers: (string | undefined)[] = [];
  readonly inputOptions: { password?: boolean }[] = [];
  activeTextEditor: Editor | undefined;
  workspaceFolders: { uri: FakeUri }[] | undefined;
  readonly clients: FakeClient[] = [];
  startError: string | undefined;
  /** The server's answers, by method and command. */
  statusAnswer: unknown = { backend: 'http://localhost:9090', ok: true, reason: '' };
  commandError: string | undefined;
  readonly statusItem = { text: '', tooltip: '', backgroundColor: undefined as { id: string } | undefined, command: '', name: '', shown: false };
  readonly outputLines: string[] = [];
  readonly configEmitter = new Emitter<{ affectsConfiguration(s: string): boolean }>();
  readonly secretEmitter = new Emitter<{ key: string }>();
  readonly subscriptions: { dispose(): unknown }[] = [];

  get client(): FakeClient {
    const c = this.clients.at(-1);
    if (c === undefined) {
      throw new Error('no LanguageClient was created');
    }
    return c;
  }

  answer(method: string, params: SentRequest['params']): unknown {
    if (method !== 'workspace/executeCommand') {
      throw new Error(`unexpected request ${method}`);
    }
    if (params.command === 'am-lsp.status') {
      return this.statusAnswer;
    }
    if (this.commandError !== undefined) {
      throw Object.assign(new Error(this.commandError), { code: -32602 });
    }
    return { url: 'http://localhost:9090/graph?g0.expr=x', shown: 'showDocument' };
  }

  /** Changes settings as the Settings UI would, firing onDidChangeConfiguration. */
  setConfig(values: Record<string, unknown>): void {
    Object.assign(this.config, values);
    const changed = Object.keys(values).map((k) => `am-lsp.${k}`);
    this.configEmitter.fire({
      affectsConfiguration: (s: string) => changed.some((c) => c === s || c.startsWith(`${s}.`)),
    });
  }

  context() {
    const secrets = {
      get: async (k: string) => {
        if (this.secretsBroken) {
          throw new Error('no keyring');
        }
        return this.secrets.get(k);
      },
      store: async (k: string, v: string) => {
        this.secrets.set(k, v);
        this.secretEmitter.fire({ key: k });
      },
      delete: async (k: string) => {
        this.secrets.delete(k);
        this.secretEmitter.fire({ key: k });
      },
      onDidChange: this.secretEmitter.event,
    };
    return { subscriptions: this.subscriptions, secrets };
  }

  /** Runs a registered command as the palette would. */
  async run(id: string, ...args: unknown[]): Promise<unknown> {
    const f = this.commands.get(id);
    if (f === undefined) {
      throw new Error(`command ${id} is not registered`);
    }
    return f(...args);
  }

  dispose(): void {
    for (const s of this.subscriptions.splice(0)) {
      s.dispose();
    }
  }

  /** The `vscode` module. */
  vscodeModule(): unknown {
    const message = (level: Message['level']) => async (text: string, ...items: string[]) => {
      const m = { level, text, items };
      this.messages.push(m);
      return this.messageChoice(m);
    };
    const log = (line: string) => this.outputLines.push(line);
    return {
      StatusBarAlignment: { Left: 1, Right: 2 },
      ThemeColor: class {
        constructor(readonly id: string) {}
      },
      window: {
        createOutputChannel: () => ({
          info: log,
          warn: log,
          error: log,
          debug: log,
          trace: log,
          appendLine: log,
          show: () => this.executed.push({ id: '<output.show>', args: [] }),
          dispose: () => undefined,
        }),
        createStatusBarItem: () =>
          Object.assign(this.statusItem, {
            show: () => (this.statusItem.shown = true),
            dispose: () => (this.statusItem.shown = false),
          }),
        showErrorMessage: message('error'),
        showWarningMessage: message('warning'),
        showInformationMessage: message('info'),
        showQuickPick: async (items: { label: string }[]) => {
          this.quickPicks.push(items.map((i) => i.label));
          const label = this.quickPickAnswers.shift();
          return items.find((i) => i.label === label);
        },
        showInputBox: async (options: { password?: boolean }) => {
          this.inputOptions.push(options);
          return this.inputAnswers.shift();
        },
        get activeTextEditor() {
          return host().activeTextEditor;
        },
      },
      commands: {
        registerCommand: (id: string, f: (...args: unknown[]) => unknown) => {
          if (this.commands.has(id)) {
            throw new Error(`command '${id}' already exists`);
          }
          this.commands.set(id, f);
          return { dispose: () => this.commands.delete(id) };
        },
        executeCommand: async (id: string, ...args: unknown[]) => {
          this.executed.push({ id, args });
          const f = this.commands.get(id);
          return f?.(...args);
        },
      },
      workspace: {
        getConfiguration: (section: string) => {
          if (section !== 'am-lsp') {
            throw new Error(`unexpected configuration section ${section}`);
          }
          return { get: (key: string) => (key in this.config ? this.config[key] : this.defaults[key]) };
        },
        onDidChangeConfiguration: this.configEmitter.event,
        get workspaceFolders() {
          return host().workspaceFolders;
        },
      },
    };
  }

  /** The `vscode-languageclient/node` module. */
  languageClientModule(): unknown {
    return {
      LanguageClient: class extends FakeClient {
        constructor(id: string, name: string, serverOptions: never, clientOptions: never) {
          super(host(), id, name, serverOptions, clientOptions);
        }
      },
      State,
      RevealOutputChannelOn: { Debug: 0, Info: 1, Warn: 2, Error: 3, Never: 4 },
      ExecuteCommandRequest: { type: { method: 'workspace/executeCommand' } },
      DidChangeConfigurationNotification: { type: { method: 'workspace/didChangeConfiguration' } },
    };
  }
}

let current: Host | undefined;

function host(): Host {
  if (current === undefined) {
    throw new Error('no Host is installed');
  }
  return current;
}

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const M = Module as unknown as { _load: Loader };
const originalLoad = M._load;

/**
 * Makes `require('vscode')` and `require('vscode-languageclient/node')` return the host's
 * stand-ins, and loads a fresh copy of the extension. Returns the extension module.
 */
export function loadExtension(h: Host): {
  activate(ctx: unknown): Promise<void>;
  deactivate(): Promise<void>;
} {
  current = h;
  M._load = function (request, parent, isMain) {
    if (request === 'vscode') {
      return host().vscodeModule();
    }
    if (request === 'vscode-languageclient/node') {
      return host().languageClientModule();
    }
    return originalLoad.call(this, request, parent, isMain);
  };
  const file = require.resolve('../../src/extension');
  Reflect.deleteProperty(require.cache, file);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy per test
  return require(file) as ReturnType<typeof loadExtension>;
}

/** Lets pending promise callbacks and timers of 0 ms run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setImmediate(r));
  }
}
