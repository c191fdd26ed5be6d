/**
 * Responses from the legacy endpoint standing in for the authenticated one, where the homeserver
 * is judged to refuse the token at its CORS layer (sw/session/authenticatedPath.ts). That verdict
 * can be wrong (a gateway's 503 without CORS headers looks the same from a browser), and Synapse
 * freezes the legacy endpoint (404 for media uploaded since): such an answer says nothing of
 * what the session's token may see, so no stored file is deleted on its word (recheck.ts).
 */
const standIns = new WeakSet<Response>();

export function markStandIn(response: Response): Response {
  standIns.add(response);
  return response;
}

export const isStandIn = (response: Response): boolean => standIns.has(response);
