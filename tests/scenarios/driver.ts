/**
 * What a scenario needs from a browser, so that each scenario is written once and runs in every
 * engine: Chromium and Firefox through Playwright (tests/browser/pageDriver.ts), WebKitGTK
 * through W3C WebDriver (tests/webkit/webdriver.ts).
 */

export type Engine = 'chromium' | 'firefox' | 'webkit';

/**
 * What runs in the page: the body of an async function of `args`, or a function of `args`
 * (serialized, as Playwright's evaluate does: it must not close over anything).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InPage<T> = string | ((args: any) => T | Promise<T>);

export interface PageDriver {
  readonly engine: Engine;
  /** Runs `body` in the page with `args`; resolves with its result. */
  run<T = unknown>(body: InPage<T>, args?: unknown): Promise<T>;
  /** Loads `url` (a test page) and waits until its `window.ready`. */
  open(url: string): Promise<void>;
  /** Goes to `url` as a user typing it would, without waiting for a test page. */
  navigate(url: string): Promise<void>;
  /** A second tab in the same browser profile, at the test page `url`. */
  newTab(url: string): Promise<PageDriver>;
  /** Reloads the page as the user does, and waits until it is ready. */
  reload(): Promise<void>;
  /**
   * Shift+Reload: the page comes back without a controlling worker. Undefined where the engine
   * gives a test no way to issue one.
   */
  readonly hardReload: (() => Promise<void>) | undefined;
  /**
   * Stops the origin's service workers, as the browser does to idle ones. Undefined where the
   * engine gives a test no way to.
   */
  readonly stopWorkers: (() => Promise<void>) | undefined;
  /**
   * A window this page opens with `window.open` from a click (not noopener), at the test page
   * `url`: the browser copies the page's sessionStorage into it. Undefined where the engine gives
   * a test no way to drive such a window.
   */
  readonly openWindow: ((url: string) => Promise<PageDriver>) | undefined;
  /** Why `hardReload`, `stopWorkers` or `openWindow` is undefined in this engine: the missing capability. */
  readonly missing: Partial<Record<Capability, string>>;
}

export type Capability = 'hardReload' | 'stopWorkers' | 'openWindow';

/** The async function body that runs `body`. */
export function bodyOf(body: InPage<unknown>): string {
  return typeof body === 'string' ? body : `return (${body.toString()})(args);`;
}

/** The body that waits for the test page's `window.ready`. */
export const WAIT_FOR_READY = 'while (!window.ready) await new Promise((r) => setTimeout(r, 20));';

/** Polls `probe` until `done` holds of its value (at most `ms`); resolves with the last value. */
export async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}
