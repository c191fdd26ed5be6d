import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../freePort.js';
import { bodyOf, WAIT_FOR_READY, type InPage, type PageDriver } from '../scenarios/driver.js';

/**
 * A small W3C WebDriver client for WebKitGTK: Playwright can only drive the WebKit it builds
 * itself, so the WebKit run talks to Debian's WebKitWebDriver directly, which starts
 * MiniBrowser under a virtual X display (xvfb-run).
 */

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
// A session normally starts in a second or two; the hooks that wait for it allow 60 s in all.
const SESSION_START_MS = 25_000;


export interface WebKitSession {
  navigate(url: string): Promise<void>;
  /** WebDriver's Refresh command: the user's reload. */
  refresh(): Promise<void>;
  /** Runs an async script in the page: its last argument is the callback to call with the result. */
  executeAsync<T>(script: string, ...args: unknown[]): Promise<T>;
  execute<T>(script: string, ...args: unknown[]): Promise<T>;
  currentUrl(): Promise<string>;
  /** WebDriver's New Window command (a tab); resolves with its handle. */
  newTab(): Promise<string>;
  /** Makes the tab `handle` the one later commands go to (one at a time, as WebDriver has it). */
  switchTo(handle: string): Promise<void>;
  /** The tab commands go to now. */
  windowHandle(): Promise<string>;
  close(): Promise<void>;
}

export interface WebKitDriver {
  newSession(): Promise<WebKitSession>;
  stop(): Promise<void>;
}

async function call(base: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<unknown> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
  });
  const json = (await response.json()) as { value: unknown };
  if (!response.ok) {
    const error = json.value as { error?: string; message?: string };
    throw new Error(`WebDriver ${method} ${path}: ${error.error ?? response.status} ${error.message ?? ''}`);
  }
  return json.value;
}

export async function startWebKitDriver(): Promise<WebKitDriver> {
  const port = await freePort();
  const child: ChildProcess = spawn('xvfb-run', ['-a', '-s', '-screen 0 1280x1024x24', 'WebKitWebDriver', `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await call(base, 'GET', '/status');
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`WebKitWebDriver did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    async newSession() {
      const create = () =>
        call(base, 'POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } } }, SESSION_START_MS) as Promise<{ sessionId: string }>;
      let created: { sessionId: string };
      try {
        created = await create();
      } catch (error) {
        // Infrastructure, not the product: a browser that did not start is tried once more, and
        // says so. A second failure fails the test as what it is.
        console.warn(`WebKitWebDriver: starting a MiniBrowser session failed (${String(error)}); trying once more.`);
        try {
          created = await create();
        } catch (again) {
          throw new Error(`WebKitWebDriver could not start a MiniBrowser session, twice (infrastructure, not an assertion): ${String(again)}`);
        }
      }
      const session = `/session/${created.sessionId}`;
      await call(base, 'POST', `${session}/timeouts`, { script: 60_000, pageLoad: 60_000 });
      return {
        navigate: async (url) => void (await call(base, 'POST', `${session}/url`, { url })),
        refresh: async () => void (await call(base, 'POST', `${session}/refresh`, {})),
        executeAsync: async <T>(script: string, ...args: unknown[]) => (await call(base, 'POST', `${session}/execute/async`, { script, args })) as T,
        execute: async <T>(script: string, ...args: unknown[]) => (await call(base, 'POST', `${session}/execute/sync`, { script, args })) as T,
        currentUrl: async () => (await call(base, 'GET', `${session}/url`)) as string,
        newTab: async () => ((await call(base, 'POST', `${session}/window/new`, { type: 'tab' })) as { handle: string }).handle,
        switchTo: async (handle) => void (await call(base, 'POST', `${session}/window`, { handle })),
        windowHandle: async () => (await call(base, 'GET', `${session}/window`)) as string,
        close: async () => void (await call(base, 'DELETE', session).catch(() => undefined)),
      };
    },
    async stop() {
      if (child.pid && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        process.kill(-child.pid, 'SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * The scenarios' driver over a WebKit session, in its tab `handle` (the first tab if not given).
 * WebDriver sends commands to one tab at a time: each call first moves there.
 */
export function webkitDriver(session: WebKitSession, handle?: string): PageDriver {
  const here = async () => {
    if (handle !== undefined && (await session.windowHandle()) !== handle) await session.switchTo(handle);
  };
  const run = async <T>(body: InPage<T>, args: unknown = null): Promise<T> => {
    await here();
    const result = await session.executeAsync<{ value?: T; error?: string }>(
      `const done = arguments[arguments.length - 1];
       (async (args) => { ${bodyOf(body)} })(arguments[0]).then((value) => done({ value }), (e) => done({ error: String(e && e.stack || e) }));`,
      args,
    );
    if (result.error) throw new Error(`in WebKit: ${result.error}`);
    return result.value as T;
  };
  return {
    engine: 'webkit',
    run,
    async open(url) {
      await here();
      await session.navigate(url);
      await run(WAIT_FOR_READY);
    },
    async navigate(url) {
      await here();
      await session.navigate(url);
    },
    async newTab(url) {
      handle ??= await session.windowHandle();
      const tab = webkitDriver(session, await session.newTab());
      await tab.open(url);
      return tab;
    },
    async reload() {
      await here();
      await session.refresh();
      await run(WAIT_FOR_READY);
    },
    // WebDriver has no reload that bypasses the worker, and WebKitGTK no other protocol for it.
    hardReload: undefined,
    // Nor any command that stops a service worker.
    stopWorkers: undefined,
    openWindow: undefined,
    missing: {
      openWindow: 'this WebDriver driver has no way yet to click a page into opening a window and then follow that window by its handle',
      hardReload: 'W3C WebDriver has no reload that bypasses the service worker, and WebKitGTK offers no other automation protocol',
      stopWorkers: 'W3C WebDriver has no command that stops a service worker, and WebKitGTK offers no other automation protocol',
    },
  };
}
