// A small matrix-js-sdk client wired to matrix-media-sw as the README's recipe says.
import { createClient, type MatrixClient } from 'matrix-js-sdk';
import { registerMediaWorker, type MediaWorker } from 'matrix-media-sw';
import { loadImage } from '../browser/pages/helpers.js';

declare global {
  interface Window {
    client: MatrixClient;
    media: MediaWorker;
    workerRefreshes: number;
    start(homeserverUrl: string, userId: string, accessToken: string, refreshToken: string): Promise<void>;
    loadImage(src: string): Promise<{ ok: boolean; width: number; height: number }>;
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

window.ready = true;
