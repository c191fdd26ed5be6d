import { chromium, firefox, type Browser } from '@playwright/test';

/** Debian's Chromium and Firefox ESR, as the tests drive them; never a browser of Playwright's own. */
export const ENGINES: Array<[name: string, launch: () => Promise<Browser>]> = [
  ['Chromium', () => chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--disable-gpu', '--disable-quic'] })],
  ['Firefox', () => firefox.launch({ channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr' } as Parameters<typeof firefox.launch>[0])],
];
