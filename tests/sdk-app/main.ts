// A small matrix-js-sdk client wired to matrix-media-sw as the README's recipe says.
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { registerMediaWorker, type EncryptedFile, type MediaWorker } from 'matrix-media-sw';
import { loadImage } from '../browser/pages/helpers.js';

declare global {
  interface Window {
    client: MatrixClient;
    media: MediaWorker;
    workerRefreshes: number;
    start(homeserverUrl: string, userId: string, accessToken: string, refreshToken: string): Promise<void>;
    loadImage(src: string): Promise<{ ok: boolean; width: number; height: number }>;
    sendAttachment(roomId: string, msgtype: 'm.image' | 'm.video', body: string, file: EncryptedFile, mimetype: string): Promise<string>;
    attachmentUrl(roomId: string, eventId: string): Promise<string>;
    ready: boolean;
  }
}

window.workerRefreshes = 0;

window.start = async (homeserverUrl, userId, accessToken, refreshToken) => {
  let currentRefreshToken = refreshToken;
  const client = createClient({
    baseUrl: homeserverUrl,
    userId,
    accessToken,
    refreshToken,
    // When the SDK refreshes by itself (OAuth-native sessions), hand the worker the new token.
    onTokenRefresh: (tokens) => {
      currentRefreshToken = tokens.refreshToken ?? currentRefreshToken;
      void window.media?.setAccessToken(tokens.accessToken);
    },
  });
  window.client = client;
  window.media = await registerMediaWorker({
    homeserverUrl: client.getHomeserverUrl(),
    accessToken: client.getAccessToken(),
    // When the worker meets an expired token: refresh through the SDK and keep the SDK in step.
    refreshAccessToken: async () => {
      window.workerRefreshes++;
      const response = await client.refreshToken(currentRefreshToken);
      currentRefreshToken = response.refresh_token ?? currentRefreshToken;
      client.setAccessToken(response.access_token);
      return response.access_token;
    },
  });
};

window.loadImage = loadImage;

// An encrypted room's attachment event: the content carries `file` (an EncryptedFile), not `url`.
window.sendAttachment = async (roomId, msgtype, body, file, mimetype) => {
  const content = { msgtype, body, file, info: { mimetype } };
  const { event_id } = await window.client.sendMessage(roomId, content as never);
  return event_id;
};

// The README's recipe: read the event back with the SDK and show it through the worker.
window.attachmentUrl = async (roomId, eventId) => {
  const event = await window.client.fetchRoomEvent(roomId, eventId);
  const content = event.content as { body: string; file?: EncryptedFile; url?: string; info?: { mimetype?: string } };
  if (content.file) return window.media.encryptedMediaUrl(content.file, { mimetype: content.info?.mimetype, filename: content.body });
  return window.media.mediaUrl(content.url!, { filename: content.body });
};

window.ready = true;
