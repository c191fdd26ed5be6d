/**
 * `npm run demo`: the embedded homeserver on 127.0.0.1 with a demo account and sample media,
 * and the demo page on localhost (Vite), two origins as in a real deployment.
 */
import { resolve } from 'node:path';
import { createServer, type Plugin } from 'vite';
import { sampleMedia } from './homeserver/samples.js';
import { encryptAttachment } from 'matrix-encrypt-attachment';
import { startHomeserver } from './homeserver/server.js';

const root = resolve(import.meta.dirname, '..');
const homeserverPort = Number(process.env.MMS_HOMESERVER_PORT ?? 8008);
const pagePort = Number(process.env.MMS_DEMO_PORT ?? 5173);

// Demo tokens expire after ten minutes, or at once with the page's "expire" button, so that
// the worker's refresh through refreshAccessToken can be watched.
// MMS_MEDIA_FOLDER keeps uploads on disk across demo runs; by default media lives in memory.
// It ignores Range as Synapse does, on a link of 1.5 MB/s, so that the worker's media store and
// the video's download progress can be watched.
const homeserver = await startHomeserver({
  port: homeserverPort,
  rangeSupport: false,
  mediaBytesPerSecond: 1_500_000,
  accessTokenLifetimeMs: 10 * 60 * 1000,
  mediaFolder: process.env.MMS_MEDIA_FOLDER || undefined,
});
homeserver.register('demo', 'demo');
const catalog: Array<{ mxc: string; kind: string; fileName: string; contentType: string; size: number; file?: unknown }> = [];
for (const sample of await sampleMedia()) {
  const mxc = homeserver.addMedia(sample.data, sample.contentType, sample.fileName);
  catalog.push({ mxc, kind: sample.kind, fileName: sample.fileName, contentType: sample.contentType, size: sample.data.length });
  if (sample.kind === 'video') {
    // The same video as an encrypted room holds it: ciphertext on the server, the key in the event.
    const { data, info } = await encryptAttachment(sample.data.buffer.slice(sample.data.byteOffset, sample.data.byteOffset + sample.data.byteLength) as ArrayBuffer);
    const encrypted = homeserver.addMedia(Buffer.from(data), 'application/octet-stream');
    catalog.push({ mxc: encrypted, kind: 'encrypted-video', fileName: sample.fileName, contentType: sample.contentType, size: data.byteLength, file: { ...info, url: encrypted } });
  }
}

/** Serves the sample list at /demo-catalog.json, so the page knows what the homeserver holds. */
const catalogPlugin: Plugin = {
  name: 'matrix-media-sw-demo-catalog',
  configureServer(server) {
    server.middlewares.use('/demo-catalog.json', (_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ homeserverUrl: homeserver.url, media: catalog }));
    });
  },
};

const vite = await createServer({
  configFile: resolve(root, 'vite.config.ts'),
  mode: 'development',
  server: { port: pagePort },
  plugins: [catalogPlugin],
});
await vite.listen();
console.log(`
matrix-media-sw demo
  page:       http://localhost:${pagePort}/
  homeserver: ${homeserver.url}  (user "demo", password "demo")
Press Ctrl+C to stop.`);

async function stop(): Promise<void> {
  await vite.close();
  await homeserver.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
