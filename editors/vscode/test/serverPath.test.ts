import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { INSTALL_HINT, type ResolveContext, resolveServerPath } from '../src/serverPath';

function ctx(executables: string[], over: Partial<ResolveContext> = {}): ResolveContext {
  const set = new Set(executables);
  return {
    env: { PATH: '/usr/local/bin:/usr/bin' },
    platform: 'linux',
    homedir: '/home/u',
    isExecutable: (f) => set.has(f),
    ...over,
  };
}

describe('finding the am-lsp binary', () => {
  test('PATH first', () => {
    assert.deepEqual(resolveServerPath('', ctx(['/usr/bin/am-lsp', '/home/u/go/bin/am-lsp'])), {
      ok: true,
      path: '/usr/bin/am-lsp',
      source: 'PATH',
    });
  });

  test('then $GOBIN, $GOPATH/bin (each entry), ~/go/bin: where go install puts it', () => {
    assert.deepEqual(resolveServerPath('', ctx(['/home/u/go/bin/am-lsp'])), {
      ok: true,
      path: '/home/u/go/bin/am-lsp',
      source: 'GOPATH',
    });
    const env = { PATH: '/usr/bin', GOBIN: '/opt/gobin', GOPATH: '/a:/b' };
    assert.deepEqual(resolveServerPath('', ctx(['/opt/gobin/am-lsp', '/b/bin/am-lsp'], { env })), {
      ok: true,
      path: '/opt/gobin/am-lsp',
      source: 'GOBIN',
    });
    assert.deepEqual(resolveServerPath('', ctx(['/b/bin/am-lsp', '/home/u/go/bin/am-lsp'], { env })), {
      ok: true,
      path: '/b/bin/am-lsp',
      source: 'GOPATH',
    });
  });

  test('not found: the message names the setting and how to install, and lists where it looked', () => {
    const r = resolveServerPath('', ctx([]));
    assert.equal(r.ok, false);
    assert.match(r.message, /am-lsp\.serverPath is not set/);
    assert.ok(r.message.includes(INSTALL_HINT));
    assert.deepEqual(r.searched, ['/usr/local/bin/am-lsp', '/usr/bin/am-lsp', '/home/u/go/bin/am-lsp']);
  });

  test('the setting wins over PATH; a missing or non-executable file is named', () => {
    const c = ctx(['/usr/bin/am-lsp', '/opt/am-lsp/am-lsp']);
    assert.deepEqual(resolveServerPath('/opt/am-lsp/am-lsp', c), { ok: true, path: '/opt/am-lsp/am-lsp', source: 'setting' });
    const r = resolveServerPath(' /opt/nope/am-lsp ', c);
    assert.equal(r.ok, false);
    assert.equal(r.message, 'am-lsp.serverPath is "/opt/nope/am-lsp", which is not an executable file.');
  });

  test('the setting: ~/ is home, a bare name is looked up on PATH, a relative path needs a folder', () => {
    assert.deepEqual(resolveServerPath('~/bin/am-lsp', ctx(['/home/u/bin/am-lsp'])), {
      ok: true,
      path: '/home/u/bin/am-lsp',
      source: 'setting',
    });
    assert.deepEqual(resolveServerPath('am-lsp-dev', ctx(['/usr/bin/am-lsp-dev'])), {
      ok: true,
      path: '/usr/bin/am-lsp-dev',
      source: 'setting',
    });
    const bare = resolveServerPath('am-lsp-dev', ctx([]));
    assert.ok(!bare.ok && bare.message.includes('no such program is on PATH'));
    assert.deepEqual(resolveServerPath('bin/am-lsp', ctx(['/work/repo/bin/am-lsp'], { workspaceFolder: '/work/repo' })), {
      ok: true,
      path: '/work/repo/bin/am-lsp',
      source: 'setting',
    });
    const rel = resolveServerPath('./bin/am-lsp', ctx([]));
    assert.ok(!rel.ok && /relative path .* no folder is open/.test(rel.message));
  });

  test('Windows: ; separated PATH and PATHEXT', () => {
    const c = ctx(['C:\\tools\\am-lsp.exe'], {
      platform: 'win32',
      homedir: 'C:\\Users\\u',
      env: { Path: 'C:\\Windows;C:\\tools', PATHEXT: '.COM;.EXE' },
    });
    assert.deepEqual(resolveServerPath('', c), { ok: true, path: 'C:\\tools\\am-lsp.exe', source: 'PATH' });
    assert.deepEqual(resolveServerPath('C:\\tools\\am-lsp', c), { ok: true, path: 'C:\\tools\\am-lsp.exe', source: 'setting' });
  });
});
