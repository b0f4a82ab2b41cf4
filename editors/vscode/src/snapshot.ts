// The palette's "Copy Function Snapshot": the server's am-lsp.snapshot answer (Markdown of the
// function's numbers, SLOs, alerts, deploy and traces over an absolute UTC range, with pinned
// links) goes to the clipboard. No `vscode` import.

/** The message shown once the snapshot is on the clipboard. */
export const SNAPSHOT_COPIED = 'am-lsp: snapshot copied to the clipboard (Markdown, pinned to its UTC time range).';

/** The Markdown of an am-lsp.snapshot answer; undefined when the answer is not one. */
export function snapshotMarkdown(result: unknown): string | undefined {
  if (typeof result !== 'string' || !result.startsWith('### am-lsp snapshot')) {
    return undefined;
  }
  return result;
}
