// The dialogs: the SLO prompt of "Instrument Function" and the secret prompts. They take the
// part of vscode.window they use as a parameter (no `vscode` import), so tests drive them with a
// scripted stub. Escape at any step cancels: the flow returns undefined and nothing is sent.

import { LATENCY_THRESHOLDS_MS, OBJECTIVES, type Slo, validateSlo, validateSloName } from './slo';
import { SECRETS, type SecretKey } from './settings';

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
}

export interface PickOptions {
  title?: string;
  placeHolder?: string;
  ignoreFocusOut?: boolean;
}

export interface InputOptions {
  title?: string;
  prompt?: string;
  placeHolder?: string;
  value?: string;
  password?: boolean;
  ignoreFocusOut?: boolean;
  validateInput?(value: string): string | undefined;
}

/** A value later, as VS Code's window API returns it (its Thenable). */
export interface Later<T> {
  then<R>(onfulfilled?: (value: T) => R | Later<R>, onrejected?: (reason: unknown) => R | Later<R>): Later<R>;
}

/** The part of vscode.window the prompts use. */
export interface PromptWindow {
  showQuickPick<T extends PickItem>(items: readonly T[], options: PickOptions): Later<T | undefined>;
  showInputBox(options: InputOptions): Later<string | undefined>;
  showErrorMessage(message: string): Later<unknown>;
}

/** What "Instrument Function" asks the server for: with or without an SLO. */
export interface Instrumentation {
  slo?: Slo;
}

interface ValueItem<T> extends PickItem {
  value: T;
}

const TITLE = 'am-lsp: Instrument Function';

/** Labels of the first pick, exported for tests. */
export const INSTRUMENT_ONLY = '$(pulse) Instrument only';
export const INSTRUMENT_WITH_SLO = '$(target) Instrument with an SLO…';
export const NO_SUCCESS_OBJECTIVE = 'No success objective';
export const NO_LATENCY_OBJECTIVE = 'No latency objective';

/**
 * Asks how to instrument the function at the cursor: without an SLO, or with one (a name, then
 * a success objective, a latency objective and its threshold). Only valid combinations can be
 * picked: with no success objective the latency objective is required, and a latency objective
 * always comes with a threshold. The result is validated once more before it is returned.
 */
export async function promptInstrumentation(win: PromptWindow): Promise<Instrumentation | undefined> {
  const mode = await win.showQuickPick<ValueItem<'plain' | 'slo'>>(
    [
      {
        label: INSTRUMENT_ONLY,
        detail: 'Add //autometrics:inst to the function: rate, errors, latency and concurrency metrics.',
        value: 'plain',
      },
      {
        label: INSTRUMENT_WITH_SLO,
        detail: 'Also declare a service-level objective (success rate and/or latency) for alerting.',
        value: 'slo',
      },
    ],
    { title: TITLE, placeHolder: 'How should am-lsp instrument the function at the cursor?', ignoreFocusOut: true },
  );
  if (mode === undefined) {
    return undefined;
  }
  if (mode.value === 'plain') {
    return {};
  }

  const name = await win.showInputBox({
    title: `${TITLE} (SLO 1/4)`,
    prompt: 'Name of the SLO, shared by the functions that serve it (the objective_name label).',
    placeHolder: DEFAULT_SLO.name,
    value: DEFAULT_SLO.name,
    ignoreFocusOut: true,
    validateInput: validateSloName,
  });
  if (name === undefined) {
    return undefined;
  }
  // validateInput only guards the dialog; a stub (or a future API change) could bypass it.
  const nameProblem = validateSloName(name);
  if (nameProblem !== undefined) {
    await win.showErrorMessage(`am-lsp: ${nameProblem}`);
    return undefined;
  }

  const success = await win.showQuickPick<ValueItem<number | undefined>>(
    [
      ...objectiveItems('of calls succeed', DEFAULT_SLO.successTarget),
      { label: NO_SUCCESS_OBJECTIVE, detail: 'Only a latency objective.', value: undefined },
    ],
    {
      title: `${TITLE} (SLO 2/4)`,
      placeHolder: 'Success objective: the percentage of calls that must not return an error',
      ignoreFocusOut: true,
    },
  );
  if (success === undefined) {
    return undefined;
  }

  const latencyItems: ValueItem<number | undefined>[] = objectiveItems(
    'of calls are faster than a threshold',
    DEFAULT_SLO.latencyTarget,
  );
  if (success.value !== undefined) {
    latencyItems.push({ label: NO_LATENCY_OBJECTIVE, detail: 'Only the success objective.', value: undefined });
  }
  const latencyTarget = await win.showQuickPick(latencyItems, {
    title: `${TITLE} (SLO 3/4)`,
    placeHolder:
      success.value === undefined
        ? 'Latency objective (required without a success objective): the percentage of calls faster than a threshold'
        : 'Latency objective: the percentage of calls faster than a threshold',
    ignoreFocusOut: true,
  });
  if (latencyTarget === undefined) {
    return undefined;
  }

  const slo: Slo = { name: name.trim() };
  if (success.value !== undefined) {
    slo.successTarget = success.value;
  }
  if (latencyTarget.value !== undefined) {
    const threshold = await win.showQuickPick<ValueItem<number>>(
      firstOf(DEFAULT_SLO.latencyMs, LATENCY_THRESHOLDS_MS).map((ms) => ({
        label: `${ms} ms`,
        ...(ms === DEFAULT_SLO.latencyMs ? { description: 'default' } : {}),
        value: ms,
      })),
      {
        title: `${TITLE} (SLO 4/4)`,
        placeHolder: `Latency threshold: ${latencyTarget.value} % of calls must be faster than…`,
        ignoreFocusOut: true,
      },
    );
    if (threshold === undefined) {
      return undefined;
    }
    slo.latencyTarget = latencyTarget.value;
    slo.latencyMs = threshold.value;
  }

  const problems = validateSlo(slo);
  if (problems.length > 0) {
    await win.showErrorMessage(`am-lsp: ${problems.join(' ')}`);
    return undefined;
  }
  return { slo };
}

/** The SLO the server proposes (instrument.DefaultSLO): its values come first in the picks. */
export const DEFAULT_SLO = { name: 'API', successTarget: 99, latencyMs: 250, latencyTarget: 99 } as const;

function objectiveItems(what: string, preferred: number): ValueItem<number>[] {
  return firstOf(preferred, [...OBJECTIVES].reverse()).map((p) => ({
    label: `${p} %`,
    description: p === preferred ? `${what} (default)` : what,
    value: p,
  }));
}

/** The values with `preferred` moved to the front (the item a quick pick highlights). */
function firstOf(preferred: number, values: readonly number[]): number[] {
  return values.includes(preferred) ? [preferred, ...values.filter((v) => v !== preferred)] : [...values];
}

/** What a secret prompt decided. */
export type SecretAnswer = { action: 'store'; value: string } | { action: 'delete' };

/**
 * Asks for a secret in a password box. An empty answer deletes the stored secret; Escape leaves
 * it as it is (undefined). Surrounding white space (a pasted newline) is dropped.
 */
export async function promptSecret(
  win: PromptWindow,
  key: SecretKey,
  alreadySet: boolean,
): Promise<SecretAnswer | undefined> {
  const { label, title } = SECRETS[key];
  const value = await win.showInputBox({
    title: `am-lsp: Set ${title}`,
    prompt:
      `The ${label} am-lsp sends to Prometheus, kept in VS Code's secret storage (never in settings.json).` +
      (alreadySet ? ' One is stored: leave empty to delete it.' : ''),
    password: true,
    ignoreFocusOut: true,
  });
  if (value === undefined) {
    return undefined;
  }
  const v = value.trim();
  return v === '' ? { action: 'delete' } : { action: 'store', value: v };
}
