import type { Page } from '@playwright/test';
import type { Engine, PageDriver } from '../scenarios/driver.js';

/** The scenarios' driver over a Playwright page (Chromium, Firefox). */
export function pageDriver(page: Page, engine: Engine): PageDriver {
  const ready = () => page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return {
    engine,
    run: <T>(body: string, args: unknown = null) =>
      page.evaluate(
        // eslint-disable-next-line @typescript-eslint/no-implied-eval
        ({ body, args }) => new Function('args', `return (async (args) => { ${body} })(args);`)(args) as Promise<T>,
        { body, args },
      ),
    async open(url) {
      await page.goto(url);
      await ready();
    },
    async reload() {
      await page.reload();
      await ready();
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
  };
}
