import type { Page } from '@playwright/test';
import { bodyOf, type Engine, type InPage, type PageDriver } from '../scenarios/driver.js';

/**
 * Firefox's `dom.serviceWorkers.idle_timeout` in the reliability project (default 30 s): an idle
 * worker is stopped after this long, which is how a Firefox test stops one.
 */
export const FIREFOX_WORKER_IDLE_MS = 1000;

/**
 * The scenarios' driver over a Playwright page (Chromium, Firefox). `workerIdleMs`: Firefox was
 * started with that idle timeout, so leaving the worker idle for a while stops it.
 */
export function pageDriver(page: Page, engine: Engine, options: { workerIdleMs?: number } = {}): PageDriver {
  const idleStop = engine === 'firefox' && options.workerIdleMs !== undefined ? options.workerIdleMs : undefined;
  const ready = () => page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return {
    engine,
    run: <T>(body: InPage<T>, args: unknown = null) =>
      page.evaluate(
        // eslint-disable-next-line @typescript-eslint/no-implied-eval
        ({ body, args }) => new Function('args', `return (async (args) => { ${body} })(args);`)(args) as Promise<T>,
        { body: bodyOf(body), args },
      ),
    async open(url) {
      await page.goto(url);
      await ready();
    },
    async navigate(url) {
      await page.goto(url);
    },
    async newTab(url) {
      const tab = pageDriver(await page.context().newPage(), engine);
      await tab.open(url);
      return tab;
    },
    async reload() {
      await page.reload();
      await ready();
    },
    async openWindow(url) {
      // From a click, as a user opens it: a popup without a user gesture may be blocked.
      await page.evaluate((href) => {
        const button = document.createElement('button');
        button.id = 'open-window';
        button.textContent = 'open';
        button.onclick = () => void window.open(href, '_blank');
        document.body.prepend(button);
      }, url);
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#open-window')]);
      await page.evaluate(() => document.getElementById('open-window')?.remove());
      await popup.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      return pageDriver(popup, engine, options);
    },
    // Only Chromium's DevTools protocol can bypass the worker on reload.
    hardReload:
      engine === 'chromium'
        ? async () => {
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('Page.reload', { ignoreCache: true });
            await cdp.detach();
            await page.waitForLoadState('load');
            await ready();
          }
        : undefined,
    // Chromium's DevTools protocol stops a worker on demand; Firefox stops an idle one by itself.
    stopWorkers:
      engine === 'chromium'
        ? async () => {
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('ServiceWorker.enable');
            await cdp.send('ServiceWorker.stopAllWorkers');
            await cdp.detach();
          }
        : idleStop !== undefined
          ? () => new Promise((r) => setTimeout(r, idleStop * 3))
          : undefined,
    missing:
      engine === 'chromium'
        ? {}
        : {
            hardReload:
              'Firefox gives Playwright no reload that bypasses the service worker: Page.reload with ignoreCache is Chromium DevTools protocol, Playwright does not expose WebDriver BiDi browsingContext.reload, and Ctrl+Shift+R or Shift+F5 through Playwright\'s keyboard reach the page, not the browser',
            ...(idleStop === undefined
              ? { stopWorkers: 'Firefox gives Playwright no way to stop a service worker on demand (ServiceWorker.stopAllWorkers is Chromium DevTools protocol); the reliability project stops idle ones through dom.serviceWorkers.idle_timeout' }
              : {}),
          },
  };
}
