import { MediaSwError } from './MediaSwError.js';
import { send, speaksProtocol } from './workerChannel.js';

/**
 * Which worker is ours, and when it controls the page.
 *
 * `registration.active` and `navigator.serviceWorker.controller` are not necessarily our worker:
 * an app that adopts the add-on already ships a worker at the same scope, and on the first
 * visit after the upgrade that old worker still controls the page. Ours is the registration's
 * newest worker whose script is `scriptUrl`; it goes through installing and waiting before it
 * is active, and claims the page after that.
 */

// Our worker answers a ping at once; an app's old worker never answers it.
const PING_TIMEOUT_MS = 1_000;

class Deadline {
  private readonly end: number;
  constructor(private readonly timeoutMs: number) {
    this.end = Date.now() + timeoutMs;
  }
  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }
  fail(what: string): MediaSwError {
    return new MediaSwError('registration-failed', `${what} within ${this.timeoutMs} ms.`);
  }
}

/** The newest worker of `registration` that runs `scriptHref`, leaving out `except`. */
function newestOf(registration: ServiceWorkerRegistration, scriptHref: string, except?: ServiceWorker): ServiceWorker | undefined {
  return [registration.installing, registration.waiting, registration.active].find(
    (worker): worker is ServiceWorker => worker !== null && worker.scriptURL === scriptHref && worker !== except,
  );
}

/** Resolves at the next change of `worker`'s state or of the registration's workers. */
function nextChange(registration: ServiceWorkerRegistration, worker: ServiceWorker, deadline: Deadline): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (changed: boolean) => {
      clearTimeout(timer);
      worker.removeEventListener('statechange', onChange);
      registration.removeEventListener('updatefound', onChange);
      resolve(changed);
    };
    const onChange = () => done(true);
    const timer = setTimeout(() => done(false), deadline.remaining());
    worker.addEventListener('statechange', onChange);
    registration.addEventListener('updatefound', onChange);
  });
}

/**
 * Follows our worker through installing and waiting until it is activated. A worker of ours
 * left waiting (an app's Workbox worker that does not call skipWaiting) is asked to skip it,
 * since the page's controller cannot serve media; a worker that fails to install is reported.
 */
async function activated(registration: ServiceWorkerRegistration, scriptHref: string, silent: ServiceWorker | undefined, deadline: Deadline): Promise<ServiceWorker> {
  for (;;) {
    const worker = newestOf(registration, scriptHref, silent);
    if (!worker) {
      throw new MediaSwError(
        'registration-failed',
        'The media worker failed to install: its script threw, or could not be fetched (see the browser console).',
      );
    }
    if (worker.state === 'activated') return worker;
    if (worker.state === 'installed') worker.postMessage({ type: 'mms/skip-waiting' });
    if (!(await nextChange(registration, worker, deadline))) throw stuck(registration, worker, deadline);
  }
}

function stuck(registration: ServiceWorkerRegistration, worker: ServiceWorker, deadline: Deadline): MediaSwError {
  const previous = registration.active;
  if (worker.state === 'installed' && previous && previous !== worker) {
    // Chromium and Firefox keep a worker active while any of its fetch events is unfinished,
    // skipWaiting or not, and no page can end those events: they give up after minutes.
    return deadline.fail(
      `The media worker is installed, but the browser keeps the previous worker (${previous.scriptURL}) active while it still handles requests that do not finish (an app worker waiting for an answer this page no longer gives). No page can end them, a reload included; the browser does, after some minutes, and the media worker then takes over: call registerMediaWorker again then, or pass a longer timeoutMs. It did not activate`,
    );
  }
  return deadline.fail(`The media worker stayed "${worker.state}"; it did not activate`);
}

/** Resolves once `worker` controls the page, asking it to claim the page if it does not yet. */
async function controlling(container: ServiceWorkerContainer, worker: ServiceWorker, deadline: Deadline): Promise<void> {
  if (container.controller === worker) return;
  const changed = new Promise<void>((resolve) => {
    const onChange = () => {
      if (container.controller !== worker) return;
      container.removeEventListener('controllerchange', onChange);
      resolve();
    };
    container.addEventListener('controllerchange', onChange);
    setTimeout(() => {
      container.removeEventListener('controllerchange', onChange);
      resolve();
    }, deadline.remaining());
  });
  await send(worker, { type: 'mms/claim' }, deadline.remaining());
  if (container.controller !== worker) await changed;
  if (container.controller !== worker) {
    throw new MediaSwError(
      'not-controlled',
      'The media worker is active but does not control this page: the page lies outside its scope. Serve the worker at the site root or pass a scope that covers the page (with Service-Worker-Allowed if needed).',
    );
  }
}

/**
 * Resolves with our worker once it is active and controls this page. A controller that answers
 * the protocol is used as it is (an older version of ours hands over to the newer one later, and
 * the page re-sends its sessions on `controllerchange`); any other controller is replaced.
 */
export async function takeControl(
  container: ServiceWorkerContainer,
  registration: ServiceWorkerRegistration,
  scriptHref: string,
  timeoutMs: number,
): Promise<ServiceWorker> {
  const deadline = new Deadline(timeoutMs);
  const ping = (worker: ServiceWorker) => speaksProtocol(worker, Math.min(PING_TIMEOUT_MS, deadline.remaining()));
  const controller = container.controller;
  let silent: ServiceWorker | undefined;
  if (controller && controller.scriptURL === scriptHref) {
    if (await ping(controller)) return controller;
    silent = controller;
  }
  for (;;) {
    // An app's old worker at our script URL: register() saw the same URL and did not look for
    // new bytes, so ask for the update that brings ours.
    if (silent && !newestOf(registration, scriptHref, silent)) await registration.update().catch(() => undefined);
    const worker = await activated(registration, scriptHref, silent, deadline);
    if (await ping(worker)) {
      await controlling(container, worker, deadline);
      return worker;
    }
    if (silent) {
      throw new MediaSwError(
        'registration-failed',
        `The worker at ${scriptHref} does not answer matrix-media-sw's messages: serve dist/matrix-media-sw.js there, or call installMatrixMedia() in your own worker.`,
      );
    }
    silent = worker;
  }
}
