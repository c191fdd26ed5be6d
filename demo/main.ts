import { MediaSwError, registerMediaWorker, type DiagnosticEntry, type EncryptedFile, type MediaWorker } from '../src/index.js';

/**
 * The demo page: sign in, register the worker, and show every kind of media through it, with
 * the worker's state and a live list of what it did. It talks to any homeserver; the sample
 * media list comes from `npm run demo` and is absent elsewhere.
 */

interface CatalogItem {
  mxc: string;
  kind: 'photo' | 'animation' | 'video' | 'encrypted-video' | 'document' | 'avatar';
  fileName: string;
  contentType: string;
  /** For attachments from an encrypted room: the event's EncryptedFile. */
  file?: EncryptedFile;
}

interface Account {
  homeserver: string;
  user: string;
  password: string;
  /** The app holds its token too: it needs it for its own calls, such as uploads. */
  accessToken: string;
  refreshToken: string | null;
}

const $ = <T extends Element = HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;

let worker: MediaWorker | undefined;
let account: Account | undefined;
let stopDiagnostics: (() => void) | undefined;
let stopProgress: (() => void) | undefined;
const uploaded: CatalogItem[] = [];

function say(message: string, isError = false): void {
  const line = $('#message');
  line.textContent = message;
  line.className = isError ? 'error' : '';
}

function describeError(error: unknown): string {
  return error instanceof MediaSwError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
}

function refreshState(): void {
  const active = worker?.registration?.active;
  $('#state-registered').textContent = active ? `active (${active.state})` : 'not registered';
  $('#state-controlling').textContent = navigator.serviceWorker?.controller ? 'yes' : 'no';
  $('#state-session').textContent = worker ? `held by the worker (id ${worker.sessionId.slice(0, 8)}…)` : 'none';
}

async function matrixPost(homeserver: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${homeserver}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${path}: ${String(json.errcode ?? response.status)} ${String(json.error ?? '')}`);
  return json;
}

async function login(homeserver: string, user: string, password: string): Promise<{ accessToken: string; refreshToken: string | null }> {
  const body = await matrixPost(homeserver, '/_matrix/client/v3/login', {
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user },
    password,
    refresh_token: true,
  });
  return { accessToken: String(body.access_token), refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : null };
}

/** What the worker calls when the homeserver rejects the token: the spec's /refresh, else a new login. */
async function refreshAccessToken(): Promise<string | null> {
  if (!account) return null;
  try {
    if (account.refreshToken) {
      const body = await matrixPost(account.homeserver, '/_matrix/client/v3/refresh', { refresh_token: account.refreshToken });
      account.refreshToken = typeof body.refresh_token === 'string' ? body.refresh_token : null;
      account.accessToken = String(body.access_token);
      say('The access token expired; the worker asked the page for a new one and retried.');
      return account.accessToken;
    }
    const fresh = await login(account.homeserver, account.user, account.password);
    Object.assign(account, fresh);
    return fresh.accessToken;
  } catch (error) {
    say(`Could not refresh the access token: ${describeError(error)}`, true);
    return null;
  }
}

/** A legacy URL, as matrix-js-sdk's mxcUrlToHttp and older clients build them. */
function legacyUrl(homeserver: string, mxc: string, endpoint: 'download' | 'thumbnail', query = ''): string {
  return `${homeserver}/_matrix/media/v3/${endpoint}/${mxc.slice('mxc://'.length)}${query}`;
}

async function catalog(homeserver: string): Promise<CatalogItem[]> {
  try {
    const response = await fetch('/demo-catalog.json');
    if (!response.ok) return [...uploaded];
    const body = (await response.json()) as { homeserverUrl: string; media: CatalogItem[] };
    return body.homeserverUrl === homeserver ? [...body.media, ...uploaded] : [...uploaded];
  } catch {
    return [...uploaded];
  }
}

/**
 * A link to a worker URL. A download is a plain link to a URL served as an attachment, never a
 * link with the download attribute: Chromium sends those past every service worker.
 */
function link(href: string, text: string, newTab: boolean): HTMLAnchorElement {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = text;
  if (newTab) a.target = '_blank';
  return a;
}

const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Shows what the worker's store holds for the session, against its limit. */
async function showStoreUsage(): Promise<void> {
  if (!worker) return;
  const { files, bytes, limitBytes } = await worker.storeUsage();
  $('#store-usage').textContent = `${files} ${files === 1 ? 'file' : 'files'}, ${megabytes(bytes)} of ${megabytes(limitBytes)}`;
}

/** Where a request's bytes came from, in words (DiagnosticEntry.source). */
const SOURCES: Record<NonNullable<DiagnosticEntry['source']>, string> = {
  'store-fresh': 'from the store',
  'store-rechecked': 'from the store, after asking the homeserver',
  'store-stale': 'from the store, homeserver unreachable',
  network: 'from the network',
  both: 'from the store and the network',
};

async function renderMedia(): Promise<void> {
  if (!worker || !account) return;
  const { homeserver } = account;
  const handle = worker;
  const items = await catalog(homeserver);
  const form = $<HTMLSelectElement>('#url-form').value;

  const gallery = $('#gallery');
  gallery.replaceChildren();
  for (const item of items.filter((i) => i.kind === 'photo' || i.kind === 'animation')) {
    const img = document.createElement('img');
    img.alt = item.fileName;
    img.src =
      form === 'legacy'
        ? legacyUrl(homeserver, item.mxc, 'thumbnail', `?width=320&height=240&method=crop${item.kind === 'animation' ? '&animated=true' : ''}`)
        : handle.mediaUrl(item.mxc, { width: 320, height: 240, method: 'crop', animated: item.kind === 'animation' });
    const caption = document.createElement('figcaption');
    caption.textContent = item.fileName;
    const figure = document.createElement('figure');
    figure.append(img, caption);
    gallery.append(figure);
  }

  const firstPhoto = items.find((i) => i.kind === 'photo');
  if (firstPhoto) $<HTMLImageElement>('#full-image').src = legacyUrl(homeserver, firstPhoto.mxc, 'download');

  const avatars = $('#avatars');
  avatars.replaceChildren();
  for (const item of items.filter((i) => i.kind === 'avatar')) {
    const li = document.createElement('li');
    const img = document.createElement('img');
    img.alt = '';
    img.src = handle.mediaUrl(item.mxc, { width: 32, height: 32, method: 'crop' });
    li.append(img, item.fileName.replace(/\.\w+$/, ''));
    avatars.append(li);
  }

  const video = items.find((i) => i.kind === 'video');
  const encrypted = items.find((i) => i.kind === 'encrypted-video');
  const bars: Record<string, string> = {};
  if (video) {
    $<HTMLVideoElement>('#video').src = legacyUrl(homeserver, video.mxc, 'download');
    bars[video.mxc] = 'video';
  }
  if (encrypted?.file) {
    $<HTMLVideoElement>('#encrypted-video').src = handle.encryptedMediaUrl(encrypted.file, { mimetype: encrypted.contentType, filename: encrypted.fileName });
    bars[encrypted.mxc] = 'encrypted-video';
  }
  stopProgress?.();
  stopProgress = await handle.onProgress((progress) => {
    const id = bars[progress.media];
    if (!id) return;
    const bar = $<HTMLProgressElement>(`#${id}-progress`);
    bar.max = progress.total;
    bar.value = progress.loaded;
    $(`#${id}-progress-text`).textContent =
      progress.loaded === progress.total
        ? `${megabytes(progress.total)} downloaded once and kept by the worker: seeks and replays send nothing more`
        : `${(progress.loaded / 1e6).toFixed(1)} of ${(progress.total / 1e6).toFixed(1)} MB downloaded`;
    if (progress.loaded === progress.total) void showStoreUsage();
  });
  await showStoreUsage();

  const files = $('#files');
  files.replaceChildren();
  for (const item of items) {
    const li = document.createElement('li');
    // An encrypted file's URL is the worker's decrypting one: its mxc URL holds only ciphertext.
    const url = (attachment: boolean) =>
      item.file
        ? handle.encryptedMediaUrl(item.file, { mimetype: item.contentType, filename: item.fileName, attachment })
        : handle.mediaUrl(item.mxc, { filename: item.fileName, attachment });
    li.append(`${item.fileName} (${item.contentType})`, link(url(false), 'open in a new tab', true), link(url(true), 'download', false));
    files.append(li);
  }
  if (items.length === 0) say('Signed in. This homeserver offers no sample list: upload a file to see it here.');
  refreshState();
}

function showDiagnostic(entry: DiagnosticEntry): void {
  const path = (url: string | null): string => (url ? new URL(url).pathname + new URL(url).search : '—');
  const row = document.createElement('tr');
  for (const [text, title] of [
    [path(entry.url), entry.url],
    // A file the store served fresh sent nothing upstream, whatever URL it would have gone to.
    entry.source === 'store-fresh'
      ? ['nothing: from the store', '']
      : [entry.upstreamUrl ? `${path(entry.upstreamUrl)} (${entry.outcome})` : entry.outcome, entry.upstreamUrl ?? ''],
    [entry.source ? SOURCES[entry.source] : '—', ''],
    [entry.error ?? String(entry.status), ''],
    [entry.bytes === null ? '—' : entry.bytes.toLocaleString(), ''],
    [String(Math.round(entry.durationMs)), ''],
  ] as const) {
    const cell = document.createElement('td');
    cell.textContent = text;
    if (title) {
      cell.title = title;
      cell.className = 'url';
    }
    row.append(cell);
  }
  const body = $('#requests tbody');
  body.prepend(row);
  while (body.children.length > 60) body.lastElementChild!.remove();
}

async function signIn(data: FormData): Promise<void> {
  const homeserver = String(data.get('homeserver')).trim().replace(/\/+$/, '');
  const user = String(data.get('user'));
  const password = String(data.get('password'));
  const pasted = String(data.get('token') ?? '').trim();
  const tokens = pasted ? { accessToken: pasted, refreshToken: null } : await login(homeserver, user, password);
  await signOut();
  account = { homeserver, user, password: pasted ? '' : password, ...tokens };
  worker = await registerMediaWorker({
    homeserverUrl: homeserver,
    accessToken: tokens.accessToken,
    refreshAccessToken: pasted ? undefined : refreshAccessToken,
  });
  stopDiagnostics = await worker.onDiagnostic(showDiagnostic);
  $('#session').hidden = false;
  say('Signed in: every image and video below loads through the worker, with the token.');
  await renderMedia();
}

async function signOut(): Promise<void> {
  stopProgress?.();
  stopProgress = undefined;
  stopDiagnostics?.();
  stopDiagnostics = undefined;
  await worker?.signOut();
  worker = undefined;
  account = undefined;
}

function act(action: () => Promise<void>): () => void {
  return () => void action().catch((error: unknown) => say(describeError(error), true));
}

$<HTMLFormElement>('#sign-in').addEventListener('submit', (event) => {
  event.preventDefault();
  act(() => signIn(new FormData(event.target as HTMLFormElement)))();
});

$('#rotate').addEventListener(
  'click',
  act(async () => {
    if (!worker || !account) return;
    const fresh = await login(account.homeserver, account.user, account.password);
    Object.assign(account, fresh);
    await worker.setAccessToken(fresh.accessToken);
    say('The worker now holds a new access token; media keeps loading.');
  }),
);

$('#expire').addEventListener(
  'click',
  act(async () => {
    if (!account) return;
    // A control of the embedded homeserver; a real one expires tokens by itself.
    await matrixPost(account.homeserver, '/_test/expire-tokens', { user: account.user });
    say('The homeserver now rejects the token. Load the media again: the worker refreshes it through refreshAccessToken.');
  }),
);

$('#reload-media').addEventListener(
  'click',
  act(async () => {
    // A cache-busting query, so that the browser asks again rather than reusing what it has.
    await renderMedia();
    for (const img of document.querySelectorAll<HTMLImageElement>('#gallery img, #avatars img, #full-image')) {
      const url = new URL(img.src);
      url.searchParams.set('demo_reload', String(Date.now()));
      img.src = url.href;
    }
  }),
);

$('#clear-store').addEventListener(
  'click',
  act(async () => {
    if (!worker) return;
    await worker.clearStore();
    await showStoreUsage();
    for (const id of ['video', 'encrypted-video']) $(`#${id}-progress-text`).textContent = 'not stored: the next play downloads it again';
    say('The worker deleted every stored file of this session; media keeps loading, from the homeserver.');
  }),
);

async function upload(file: File): Promise<void> {
  if (!account) return;
  const send = (token: string) =>
    fetch(`${account!.homeserver}/_matrix/media/v3/upload?filename=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { 'Content-Type': file.type || 'application/octet-stream', Authorization: `Bearer ${token}` },
      body: file,
    });
  let response = await send(account.accessToken);
  if (response.status === 401) {
    const token = await refreshAccessToken();
    if (token && worker) {
      await worker.setAccessToken(token);
      response = await send(token);
    }
  }
  const body = (await response.json()) as { content_uri?: string; error?: string };
  if (!response.ok || !body.content_uri) throw new Error(`Upload failed: ${body.error ?? response.status}`);
  const contentType = file.type || 'application/octet-stream';
  uploaded.push({ mxc: body.content_uri, kind: contentType.startsWith('image/') ? 'photo' : 'document', fileName: file.name, contentType });
  say(`Uploaded ${file.name} as ${body.content_uri}.`);
  await renderMedia();
}

$<HTMLInputElement>('#upload').addEventListener('change', (event) => {
  const input = event.target as HTMLInputElement;
  const file = input.files?.[0];
  if (file) act(() => upload(file))();
  input.value = '';
});

$('#sign-out').addEventListener(
  'click',
  act(async () => {
    await signOut();
    refreshState();
    say('Signed out: the worker forgot the session, in memory and in storage. Media stops loading.');
    for (const img of document.querySelectorAll<HTMLImageElement>('#gallery img')) img.src = `${img.src.split('&demo_reload')[0]}&after_sign_out=1`;
  }),
);

$<HTMLSelectElement>('#url-form').addEventListener('change', act(renderMedia));
navigator.serviceWorker?.addEventListener('controllerchange', refreshState);
refreshState();
