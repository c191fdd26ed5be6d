/**
 * What a scenario needs from a browser, so that each scenario is written once and runs in every
 * engine: Chromium and Firefox through Playwright (tests/browser/pageDriver.ts), WebKitGTK
 * through W3C WebDriver (tests/webkit/webdriver.ts).
 */

export type Engine = 'chromium' | 'firefox' | 'webkit';

export interface PageDriver {
  readonly engine: Engine;
  /** Runs `body`, the body of an async function of `args`, in the page; resolves with its result. */
  run<T = unknown>(body: string, args?: unknown): Promise<T>;
  /** Loads `url` (a test page) and waits until its `window.ready`. */
  open(url: string): Promise<void>;
  /** Reloads the page as the user does, and waits until it is ready. */
  reload(): Promise<void>;
  /**
   * Shift+Reload: the page comes back without a controlling worker. Undefined where the engine
   * gives a test no way to issue one.
   */
  readonly hardReload: (() => Promise<void>) | undefined;
}

/** The body that waits for the test page's `window.ready`. */
export const WAIT_FOR_READY = 'while (!window.ready) await new Promise((r) => setTimeout(r, 20));';
