import { MediaSwError, registerMediaWorker, type MediaWorker } from '../src/index.js';

/** The demo page: sign in, register the worker, and show every kind of media through it. */

interface SeededMedia {
  mxc: string;
  contentType: string;
  fileName: string | null;
}

const form = document.querySelector<HTMLFormElement>('#sign-in')!;
const state = document.querySelector<HTMLElement>('#state')!;
const sessionSection = document.querySelector<HTMLElement>('#session')!;
let worker: MediaWorker | undefined;
let credentials: { homeserver: string; user: string; password: string } | undefined;

function show(message: string, isError = false): void {
  state.innerHTML = '';
  const line = document.createElement('p');
  line.textContent = message;
  if (isError) line.className = 'error';
  state.append(line);
}

async function login(homeserver: string, user: string, password: string): Promise<string> {
  const response = await fetch(`${homeserver}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (!response.ok || !body.access_token) throw new Error(`Sign-in failed: ${body.error ?? response.status}`);
  return body.access_token;
}

/** A legacy URL as older clients and matrix-js-sdk's mxcUrlToHttp build it. */
function legacyUrl(homeserver: string, mxc: string, kind: 'download' | 'thumbnail', query = ''): string {
  return `${homeserver}/_matrix/media/v3/${kind}/${mxc.slice('mxc://'.length)}${query}`;
}

async function seededMedia(homeserver: string): Promise<SeededMedia[]> {
  try {
    const response = await fetch(`${homeserver}/_test/media`);
    if (!response.ok) return [];
    return ((await response.json()) as { media: SeededMedia[] }).media;
  } catch {
    // A real homeserver has no such list; the gallery stays empty.
    return [];
  }
}

async function render(homeserver: string, handle: MediaWorker): Promise<void> {
  const media = await seededMedia(homeserver);
  const gallery = document.querySelector<HTMLElement>('#gallery')!;
  const files = document.querySelector<HTMLElement>('#files')!;
  gallery.replaceChildren();
  files.replaceChildren();
  for (const item of media) {
    if (item.contentType.startsWith('image/')) {
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.alt = item.fileName ?? item.mxc;
      img.loading = 'lazy';
      img.src = legacyUrl(homeserver, item.mxc, 'thumbnail', '?width=320&height=240&method=scale');
      const caption = document.createElement('figcaption');
      caption.textContent = item.fileName ?? item.mxc;
      figure.append(img, caption);
      gallery.append(figure);
    }
    if (item.contentType.startsWith('video/')) {
      document.querySelector<HTMLVideoElement>('#video')!.src = legacyUrl(homeserver, item.mxc, 'download');
    }
    const li = document.createElement('li');
    const filename = item.fileName ?? undefined;
    const open = Object.assign(document.createElement('a'), { href: handle.mediaUrl(item.mxc, { filename }), target: '_blank', textContent: 'open in a new tab' });
    const save = Object.assign(document.createElement('a'), { href: handle.mediaUrl(item.mxc, { filename }), download: filename ?? '', textContent: 'download' });
    li.append(`${filename ?? item.mxc} (${item.contentType}) `, open, save);
    files.append(li);
  }
  if (media.length === 0) show('Signed in. This homeserver offers no sample list; the worker is ready for its media.');
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    const data = new FormData(form);
    const homeserver = String(data.get('homeserver')).replace(/\/+$/, '');
    const user = String(data.get('user'));
    const password = String(data.get('password'));
    try {
      const pasted = String(data.get('token') ?? '');
      const token = pasted || (await login(homeserver, user, password));
      credentials = { homeserver, user, password };
      await worker?.signOut();
      worker = await registerMediaWorker({
        homeserverUrl: homeserver,
        accessToken: token,
        refreshAccessToken: pasted ? undefined : () => login(homeserver, user, password),
      });
      show(`Registered; the worker controls this page and holds the session ${worker.sessionId.slice(0, 8)}…`);
      sessionSection.hidden = false;
      await render(homeserver, worker);
    } catch (error) {
      show(error instanceof MediaSwError ? `${error.code}: ${error.message}` : String(error), true);
    }
  })();
});

document.querySelector('#rotate')!.addEventListener('click', () => {
  void (async () => {
    if (!worker || !credentials) return;
    await worker.setAccessToken(await login(credentials.homeserver, credentials.user, credentials.password));
    show('The worker now holds a new access token.');
  })();
});

document.querySelector('#sign-out')!.addEventListener('click', () => {
  void (async () => {
    await worker?.signOut();
    worker = undefined;
    sessionSection.hidden = true;
    show('Signed out: the worker forgot the session, and media stops loading.');
  })();
});
