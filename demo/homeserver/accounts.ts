import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { MatrixError } from './http.js';

/** Accounts, access tokens (with an optional lifetime) and refresh tokens, as the spec has them. */

interface AccessToken {
  userId: string;
  deviceId: string;
  expiresAt: number | undefined;
}

export interface LoginResult {
  user_id: string;
  access_token: string;
  device_id: string;
  refresh_token?: string;
  expires_in_ms?: number;
}

export class Accounts {
  private readonly passwords = new Map<string, string>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, { userId: string; deviceId: string }>();

  constructor(
    private readonly serverName: string,
    /** Access tokens issued with a refresh token expire after this long; 0 for never. */
    public accessTokenLifetimeMs = 0,
  ) {}

  userIdOf(user: string): string {
    return user.startsWith('@') ? user : `@${user}:${this.serverName}`;
  }

  register(username: string, password: string, withRefreshToken = false): LoginResult {
    const userId = this.userIdOf(username);
    if (!/^@[a-z0-9._=\-/]+:/.test(userId)) throw new MatrixError(400, 'M_INVALID_USERNAME', 'User ID can only contain characters a-z, 0-9, or \'=_-./\'');
    if (this.passwords.has(userId)) throw new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.');
    this.passwords.set(userId, password);
    return this.issue(userId, `DEV${randomBytes(4).toString('hex').toUpperCase()}`, withRefreshToken);
  }

  login(user: string, password: string, withRefreshToken: boolean): LoginResult {
    const userId = this.userIdOf(user);
    if (this.passwords.get(userId) !== password) throw new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password');
    return this.issue(userId, `DEV${randomBytes(4).toString('hex').toUpperCase()}`, withRefreshToken);
  }

  /** Swaps a refresh token for new tokens; each refresh token works once. */
  refresh(refreshToken: string): LoginResult {
    const owner = this.refreshTokens.get(refreshToken);
    if (!owner) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown refresh token', { soft_logout: false });
    this.refreshTokens.delete(refreshToken);
    return this.issue(owner.userId, owner.deviceId, true);
  }

  /** The user behind a request's token, by Synapse's rules (header and query together: 401). */
  authenticate(req: IncomingMessage, url: URL): { userId: string; deviceId: string; token: string } {
    const header = req.headers.authorization;
    const query = url.searchParams.get('access_token');
    if (header !== undefined && query !== null) {
      throw new MatrixError(401, 'M_MISSING_TOKEN', 'Mixing Authorization headers and access_token query parameters.');
    }
    let token = query;
    if (header !== undefined) {
      const match = /^Bearer (\S+)$/.exec(header);
      if (!match) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Invalid Authorization header.');
      token = match[1]!;
    }
    if (token === null) throw new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const found = this.accessTokens.get(token);
    if (!found) throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    if (found.expiresAt !== undefined && found.expiresAt <= Date.now()) {
      // An expired token: the session lives on, the client should refresh (soft logout).
      throw new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Access token has expired', { soft_logout: true });
    }
    return { userId: found.userId, deviceId: found.deviceId, token };
  }

  logout(token: string): void {
    this.accessTokens.delete(token);
  }

  /** Makes every access token of `userId` (or of everyone) expire now, as time passing would. */
  expireAccessTokens(userId?: string): number {
    let count = 0;
    for (const token of this.accessTokens.values()) {
      if (userId === undefined || token.userId === userId) {
        token.expiresAt = 0;
        count += 1;
      }
    }
    return count;
  }

  private issue(userId: string, deviceId: string, withRefreshToken: boolean): LoginResult {
    const accessToken = `mmstest_${randomBytes(18).toString('base64url')}`;
    const lifetime = withRefreshToken && this.accessTokenLifetimeMs > 0 ? this.accessTokenLifetimeMs : undefined;
    this.accessTokens.set(accessToken, { userId, deviceId, expiresAt: lifetime === undefined ? undefined : Date.now() + lifetime });
    const result: LoginResult = { user_id: userId, access_token: accessToken, device_id: deviceId };
    if (withRefreshToken) {
      const refreshToken = `mmsrefresh_${randomBytes(18).toString('base64url')}`;
      this.refreshTokens.set(refreshToken, { userId, deviceId });
      result.refresh_token = refreshToken;
      if (lifetime !== undefined) result.expires_in_ms = lifetime;
    }
    return result;
  }
}
