import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';

/**
 * What the harnesses of real servers (tests/synapse/synapse.ts, tests/dendrite/dendrite.ts,
 * tests/toxiproxy.ts) share: the homeservers speak Synapse's shared-secret registration API and
 * the v3 upload; all run as child processes to stop when the tests end, and are started again
 * once when a start fails; Dendrite and Toxiproxy are built with Go.
 */

/**
 * `start()`, tried once more when it fails: infrastructure, not the product, so one retry is
 * allowed, and it is said on the console.
 */
export async function startedOnceMore<T>(what: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    console.warn(`${what} did not start (${String(error).split('\n')[0]}); trying once more.`);
    return start();
  }
}

/** The Go command on this machine; `what` names what needs it, for the error. */
export function goCommand(what: string): string {
  for (const candidate of ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go']) {
    if (spawnSync(candidate, ['version']).status === 0) return candidate;
  }
  throw new Error(`${what} is built with Go, which is missing: install it (apt-get install -y golang) and run npm test again.`);
}

/** Creates a user through `/_synapse/admin/v1/register` (HMAC-SHA1 of nonce, name, password, admin flag); returns its access token. */
export async function registerWithSharedSecret(url: string, secret: string, username: string, password: string, server: string, admin = false): Promise<string> {
  const { nonce } = (await (await fetch(`${url}/_synapse/admin/v1/register`)).json()) as { nonce: string };
  const mac = createHmac('sha1', secret).update(`${nonce}\0${username}\0${password}\0${admin ? 'admin' : 'notadmin'}`).digest('hex');
  const response = await fetch(`${url}/_synapse/admin/v1/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ nonce, username, password, admin, mac }),
  });
  const body = (await response.json()) as { access_token?: string; error?: string };
  if (!response.ok || !body.access_token) throw new Error(`registering ${username} on ${server} failed: ${body.error ?? response.status}`);
  return body.access_token;
}

/** Uploads `data` through the v3 upload endpoint (neither server has a v1 upload); returns the mxc URI. */
export async function uploadMedia(url: string, token: string, data: Buffer, contentType: string, fileName: string, server: string): Promise<string> {
  const response = await fetch(`${url}/_matrix/media/v3/upload?filename=${encodeURIComponent(fileName)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body: new Uint8Array(data),
  });
  const body = (await response.json()) as { content_uri?: string; error?: string };
  if (!body.content_uri) throw new Error(`upload to ${server} failed: ${body.error ?? response.status}`);
  return body.content_uri;
}

/** Stops a server process: SIGTERM, then SIGKILL after 10 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
