import type { IncomingMessage, ServerResponse } from 'node:http';

/** HTTP plumbing shared by the homeserver's handlers: errors in the spec's shape, CORS, bodies. */

export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
  // Authorization must be named: a wildcard does not cover it (Fetch: "CORS non-wildcard request-header").
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization, Date',
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...CORS_HEADERS, ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, error: MatrixError): void {
  sendJson(res, error.status, { errcode: error.errcode, error: error.message, ...error.extra }, error.headers);
}

export async function readBody(req: IncomingMessage, limit = 100 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new MatrixError(413, 'M_TOO_LARGE', 'Upload request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const body: unknown = JSON.parse((await readBody(req, 1024 * 1024)).toString('utf8') || '{}');
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch (error) {
    if (error instanceof MatrixError) throw error;
  }
  throw new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.');
}
