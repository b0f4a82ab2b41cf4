import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { snapshotMarkdown } from '../src/snapshot';

test('snapshotMarkdown keeps the server\'s Markdown and refuses anything else', () => {
  const md = '### am-lsp snapshot · `(*Server).Handle`\n\n- Time range (UTC): **2026-12-02T02:52:49Z – 2026-12-02T02:57:49Z**\n';
  assert.equal(snapshotMarkdown(md), md);
  for (const bad of [undefined, null, 42, { markdown: md }, '', 'hello']) {
    assert.equal(snapshotMarkdown(bad), undefined, JSON.stringify(bad));
  }
});
