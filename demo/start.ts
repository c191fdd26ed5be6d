/**
 * `npm run demo`: the embedded homeserver on 127.0.0.1 with a demo account and sample media,
 * and the demo page on localhost (Vite), two origins as in a real deployment.
 */
import { resolve } from 'node:path';
import { createServer } from 'vite';
import { sampleMedia } from './homeserver/samples.js';
import { startHomeserver } from './homeserver/server.js';

const root = resolve(import.meta.dirname, '..');
const homeserverPort = Number(process.env.MMS_HOMESERVER_PORT ?? 8008);
const pagePort = Number(process.env.MMS_DEMO_PORT ?? 5173);

const homeserver = await startHomeserver({ port: homeserverPort });
homeserver.register('demo', 'demo');
for (const sample of await sampleMedia()) homeserver.addMedia(sample.data, sample.contentType, sample.fileName);

const vite = await createServer({ configFile: resolve(root, 'vite.config.ts'), mode: 'development', server: { port: pagePort } });
await vite.listen();
const pageUrl = `http://localhost:${pagePort}/`;
console.log(`
matrix-media-sw demo
  page:       ${pageUrl}
  homeserver: ${homeserver.url}  (user "demo", password "demo")
Press Ctrl+C to stop.`);

async function stop(): Promise<void> {
  await vite.close();
  await homeserver.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
