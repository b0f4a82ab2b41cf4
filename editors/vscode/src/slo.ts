// SLO values the Autometrics alerting rules accept, their validation, and the argument of the
// server's am-lsp.instrument command. No `vscode` import.

/** Success and latency objectives (percent) the Autometrics alerting rules define. */
export const OBJECTIVES: readonly number[] = [90, 95, 99, 99.9];

/** Latency thresholds (ms): autometrics-go's default histogram buckets. */
export const LATENCY_THRESHOLDS_MS: readonly number[] = [
  5, 7.5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000,
];

/** An SLO as the server's am-lsp.instrument takes it. */
export interface Slo {
  name: string;
  successTarget?: number;
  latencyMs?: number;
  latencyTarget?: number;
}

export const MAX_SLO_NAME_LENGTH = 100;

/**
 * Checks an SLO name as typed (for showInputBox's validateInput): a message, or undefined when
 * the name is fine. The name becomes the objective_name label and a word of the directive.
 */
export function validateSloName(value: string): string | undefined {
  const name = value.trim();
  if (name === '') {
    return 'An SLO needs a name, such as "API" (it becomes the objective_name label).';
  }
  if (name.length > MAX_SLO_NAME_LENGTH) {
    return `The SLO name is ${name.length} characters long; keep it to ${MAX_SLO_NAME_LENGTH}.`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return 'The SLO name must fit on one line (no line breaks or control characters).';
  }
  return undefined;
}

/** Formats a number list as the messages show it: "90, 95, 99 or 99.9". */
export function formatList(values: readonly number[], unit = ''): string {
  const parts = values.map((v) => `${v}${unit}`);
  return parts.length <= 1 ? parts.join('') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1] ?? ''}`;
}

/**
 * Every problem of an SLO, as the server and the Autometrics generator see them: a name is
 * required (an objective belongs to a named SLO), objectives are among OBJECTIVES, the latency
 * threshold among LATENCY_THRESHOLDS_MS, and latency threshold and target go together. The
 * extension also asks for at least one objective: an SLO without one measures nothing.
 */
export function validateSlo(slo: Slo): string[] {
  const problems: string[] = [];
  const nameProblem = validateSloName(slo.name);
  if (nameProblem !== undefined) {
    problems.push(nameProblem);
  }
  if (slo.successTarget !== undefined && !OBJECTIVES.includes(slo.successTarget)) {
    problems.push(`The success objective ${slo.successTarget} % is not one of ${formatList(OBJECTIVES, ' %')}.`);
  }
  if (slo.latencyTarget !== undefined && !OBJECTIVES.includes(slo.latencyTarget)) {
    problems.push(`The latency objective ${slo.latencyTarget} % is not one of ${formatList(OBJECTIVES, ' %')}.`);
  }
  if (slo.latencyMs !== undefined && !LATENCY_THRESHOLDS_MS.includes(slo.latencyMs)) {
    problems.push(`The latency threshold ${slo.latencyMs} ms is not one of ${formatList(LATENCY_THRESHOLDS_MS, ' ms')}.`);
  }
  if (slo.latencyMs !== undefined && slo.latencyTarget === undefined) {
    problems.push('A latency threshold needs a latency objective (the percentage of calls faster than it).');
  }
  if (slo.latencyTarget !== undefined && slo.latencyMs === undefined) {
    problems.push('A latency objective needs a latency threshold in milliseconds.');
  }
  if (slo.successTarget === undefined && slo.latencyTarget === undefined && slo.latencyMs === undefined) {
    problems.push('An SLO needs a success objective, a latency objective, or both.');
  }
  return problems;
}

/** An LSP position. */
export interface Position {
  line: number;
  character: number;
}

/** The argument of am-lsp.instrument. */
export interface InstrumentArgument {
  uri: string;
  position: Position;
  slo?: Slo;
}

/** Builds the argument of am-lsp.instrument; the SLO's name is trimmed and absent fields left out. */
export function instrumentArgument(uri: string, position: Position, slo?: Slo): InstrumentArgument {
  const arg: InstrumentArgument = { uri, position: { line: position.line, character: position.character } };
  if (slo !== undefined) {
    const s: Slo = { name: slo.name.trim() };
    if (slo.successTarget !== undefined) {
      s.successTarget = slo.successTarget;
    }
    if (slo.latencyMs !== undefined) {
      s.latencyMs = slo.latencyMs;
    }
    if (slo.latencyTarget !== undefined) {
      s.latencyTarget = slo.latencyTarget;
    }
    arg.slo = s;
  }
  return arg;
}
