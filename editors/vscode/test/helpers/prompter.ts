// A scripted stand-in for the part of vscode.window the prompts use: each dialog takes the next
// answer from a queue and is recorded, so tests check both the result and what was asked.

import type { InputOptions, Later, PickItem, PickOptions, PromptWindow } from '../../src/prompts';

export type Answer =
  /** Picks the item with this label (a failure when there is none). */
  | { pick: string }
  /** Types this text into an input box (validateInput is NOT applied: see `validated`). */
  | { type: string }
  /** Presses Escape. */
  | { cancel: true };

export interface Asked {
  kind: 'pick' | 'input' | 'error';
  labels?: string[];
  descriptions?: (string | undefined)[];
  options?: PickOptions | InputOptions;
  message?: string;
}

/** A resolved value in the shape of VS Code's Thenable (a Promise is one at run time). */
function later<T>(value: T): Later<T> {
  return Promise.resolve(value) as unknown as Later<T>;
}

export class ScriptedWindow implements PromptWindow {
  readonly asked: Asked[] = [];

  constructor(private readonly answers: Answer[]) {}

  showQuickPick<T extends PickItem>(items: readonly T[], options: PickOptions): Later<T | undefined> {
    this.asked.push({
      kind: 'pick',
      labels: items.map((i) => i.label),
      descriptions: items.map((i) => i.description),
      options,
    });
    const a = this.next('pick');
    if ('cancel' in a) {
      return later(undefined);
    }
    if (!('pick' in a)) {
      throw new Error(`a quick pick was shown but the script types ${JSON.stringify(a)}`);
    }
    const item = items.find((i) => i.label === a.pick);
    if (item === undefined) {
      throw new Error(`no item ${JSON.stringify(a.pick)} in ${JSON.stringify(items.map((i) => i.label))}`);
    }
    return later(item);
  }

  showInputBox(options: InputOptions): Later<string | undefined> {
    this.asked.push({ kind: 'input', options });
    const a = this.next('input');
    if ('cancel' in a) {
      return later(undefined);
    }
    if (!('type' in a)) {
      throw new Error(`an input box was shown but the script picks ${JSON.stringify(a)}`);
    }
    return later(a.type);
  }

  showErrorMessage(message: string): Later<unknown> {
    this.asked.push({ kind: 'error', message });
    return later(undefined);
  }

  /** The answers left over (a flow that stops early leaves some). */
  get remaining(): number {
    return this.answers.length;
  }

  private next(kind: string): Answer {
    const a = this.answers.shift();
    if (a === undefined) {
      throw new Error(`unexpected ${kind}: the script has no answer left`);
    }
    return a;
  }
}
