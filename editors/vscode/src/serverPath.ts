// Finding the am-lsp binary: the am-lsp.serverPath setting, else PATH, else where `go install`
// puts it ($GOBIN, $GOPATH/bin, ~/go/bin), which VS Code's PATH often lacks when it is started
// from a desktop launcher. No `vscode` import; the file system is passed in.

import * as path from 'node:path';

export const BINARY = 'am-lsp';
export const INSTALL_HINT = 'go install github.com/am-lsp/am-lsp/cmd/am-lsp@latest';

export interface ResolveContext {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homedir: string;
  /** The first workspace folder's path, against which a relative serverPath is resolved. */
  workspaceFolder?: string;
  /** True for an existing regular file this user may execute. */
  isExecutable(file: string): boolean;
}

export type Resolution =
  | { ok: true; path: string; source: 'setting' | 'PATH' | 'GOBIN' | 'GOPATH' }
  | { ok: false; message: string; searched: string[] };

/** Resolves the binary to start, or explains (naming the setting) why there is none. */
export function resolveServerPath(configured: string, ctx: ResolveContext): Resolution {
  const p = ctx.platform === 'win32' ? path.win32 : path.posix;
  const setting = configured.trim();
  if (setting !== '') {
    let candidate = setting;
    if (candidate === '~' || candidate.startsWith('~/')) {
      candidate = p.join(ctx.homedir, candidate.slice(1));
    }
    const hasDir = candidate.includes('/') || (ctx.platform === 'win32' && candidate.includes('\\'));
    if (!hasDir) {
      // A bare name ("am-lsp-dev") is looked up on PATH like a shell would.
      const found = searchDirs(pathDirs(ctx), candidate, ctx, p);
      if (found.path !== undefined) {
        return { ok: true, path: found.path, source: 'setting' };
      }
      return {
        ok: false,
        message: `am-lsp.serverPath is "${setting}", and no such program is on PATH.`,
        searched: found.searched,
      };
    }
    if (!p.isAbsolute(candidate)) {
      if (ctx.workspaceFolder === undefined) {
        return {
          ok: false,
          message: `am-lsp.serverPath is the relative path "${setting}" and no folder is open; use an absolute path.`,
          searched: [],
        };
      }
      candidate = p.resolve(ctx.workspaceFolder, candidate);
    }
    for (const c of withExtensions(candidate, ctx)) {
      if (ctx.isExecutable(c)) {
        return { ok: true, path: c, source: 'setting' };
      }
    }
    return {
      ok: false,
      message: `am-lsp.serverPath is "${setting}", which is not an executable file.`,
      searched: [candidate],
    };
  }

  const searched: string[] = [];
  const onPath = searchDirs(pathDirs(ctx), BINARY, ctx, p);
  searched.push(...onPath.searched);
  if (onPath.path !== undefined) {
    return { ok: true, path: onPath.path, source: 'PATH' };
  }
  const goDirs: { dir: string; source: 'GOBIN' | 'GOPATH' }[] = [];
  const gobin = (ctx.env['GOBIN'] ?? '').trim();
  if (gobin !== '') {
    goDirs.push({ dir: gobin, source: 'GOBIN' });
  }
  const gopath = (ctx.env['GOPATH'] ?? '').trim();
  const gopaths = gopath !== '' ? gopath.split(ctx.platform === 'win32' ? ';' : ':') : [p.join(ctx.homedir, 'go')];
  for (const g of gopaths) {
    if (g !== '') {
      goDirs.push({ dir: p.join(g, 'bin'), source: 'GOPATH' });
    }
  }
  for (const { dir, source } of goDirs) {
    const found = searchDirs([dir], BINARY, ctx, p);
    searched.push(...found.searched);
    if (found.path !== undefined) {
      return { ok: true, path: found.path, source };
    }
  }
  return {
    ok: false,
    message: `The am-lsp server was not found: am-lsp.serverPath is not set and there is no am-lsp on PATH or in the Go bin folders. Install it with \`${INSTALL_HINT}\`, or set am-lsp.serverPath.`,
    searched,
  };
}

function pathDirs(ctx: ResolveContext): string[] {
  const raw = ctx.env['PATH'] ?? ctx.env['Path'] ?? '';
  return raw.split(ctx.platform === 'win32' ? ';' : ':').filter((d) => d !== '');
}

function withExtensions(file: string, ctx: ResolveContext): string[] {
  if (ctx.platform !== 'win32' || /\.[^\\/.]+$/.test(file)) {
    return [file];
  }
  const exts = (ctx.env['PATHEXT'] ?? '.EXE;.CMD;.BAT;.COM').split(';').filter((e) => e !== '');
  return [file, ...exts.map((e) => file + e.toLowerCase())];
}

function searchDirs(
  dirs: readonly string[],
  name: string,
  ctx: ResolveContext,
  p: typeof path.posix,
): { path?: string; searched: string[] } {
  const searched: string[] = [];
  for (const dir of dirs) {
    for (const c of withExtensions(p.join(dir, name), ctx)) {
      searched.push(c);
      if (ctx.isExecutable(c)) {
        return { path: c, searched };
      }
    }
  }
  return { searched };
}
