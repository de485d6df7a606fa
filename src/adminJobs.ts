/**
 * The operators' job dashboard (Agendash) at /admin/jobs, behind HTTP basic auth. Agendash is
 * imported only when a dashboard is made (ADMIN_USER set), never at start otherwise.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CustomRoute } from '@slack/bolt';
import type { Agenda } from 'agenda';
import express, { type NextFunction, type Request, type Response } from 'express';

export const ADMIN_JOBS_PATH = '/admin/jobs';
const REALM = 'Basic realm="Orchestrate jobs"';

export interface AdminCredentials {
  user: string;
  password: string;
}

/** Hashing first gives timingSafeEqual equal-length inputs, so neither length nor content leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function authorized(header: string | undefined, credentials: AdminCredentials): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // Both are compared every time (no short-circuit), so timing does not tell whether the user name was right.
  const userOk = sameSecret(decoded.slice(0, colon), credentials.user);
  const passwordOk = sameSecret(decoded.slice(colon + 1), credentials.password);
  return userOk && passwordOk;
}

function validate(credentials: AdminCredentials): void {
  // An empty password would let anyone in; a colon in the user name can never match (RFC 7617 splits on the first one).
  if (!credentials.user || !credentials.password) {
    throw new Error('Admin dashboard needs a non-empty user and password');
  }
  if (credentials.user.includes(':')) throw new Error('ADMIN_USER must not contain ":"');
}

/** An Express app that answers /admin/jobs and below, and 404 to everything else. */
function dashboardApp(agenda: Agenda, credentials: AdminCredentials): express.Express {
  validate(credentials);
  const app = express();
  app.disable('x-powered-by');
  app.use(ADMIN_JOBS_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (authorized(req.headers.authorization, credentials)) return next();
    res.status(401).set({ 'WWW-Authenticate': REALM, 'Cache-Control': 'no-store' });
    res.type('text/plain').send('Unauthorized');
  });
  app.use(ADMIN_JOBS_PATH, (req: Request, res: Response, next: NextFunction) => {
    // The page loads ./assets and calls ./api relative to itself: without the trailing slash those would resolve
    // under /admin/. A relative Location keeps this right behind a proxy that adds its own path prefix.
    const [path, query] = splitUrl(req.originalUrl);
    if (path === ADMIN_JOBS_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      res.redirect(301, `jobs/${query}`);
      return;
    }
    res.set('Cache-Control', 'no-store');
    next();
  });
  // Loading starts now, while the app starts; a request that comes first waits for it.
  const agendash = import('agendash').then(({ createExpressMiddleware }) => createExpressMiddleware(agenda));
  agendash.catch(() => undefined); // a failed import is answered per request below, never left unhandled
  app.use(ADMIN_JOBS_PATH, (req: Request, res: Response, next: NextFunction) => {
    agendash.then((middleware) => middleware(req, res, next)).catch(next);
  });
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found');
  });
  // Express's default error page shows stack traces outside production: answer with the status only.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (err as { status?: unknown } | null)?.status;
    const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
    if (!res.headersSent)
      res
        .status(code)
        .type('text/plain')
        .send(code < 500 ? 'Bad request' : 'Internal error');
    else res.end();
  });
  return app;
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q)];
}

/** A plain Node request handler serving the dashboard under /admin/jobs (404 elsewhere). */
export function adminJobsHandler(
  agenda: Agenda,
  credentials: AdminCredentials,
): (req: IncomingMessage, res: ServerResponse) => void {
  const app = dashboardApp(agenda, credentials);
  return (req, res) => {
    app(req, res);
  };
}

/**
 * Bolt's `customRoutes` for HTTP mode. Bolt matches routes with path-to-regexp 8, where `{/*rest}` makes the
 * tail optional: one route covers /admin/jobs, /admin/jobs/ and every asset and API path beneath it.
 */
export function adminJobsRoutes(agenda: Agenda, credentials: AdminCredentials): CustomRoute[] {
  const handler = adminJobsHandler(agenda, credentials);
  return [{ path: `${ADMIN_JOBS_PATH}{/*rest}`, method: ['GET', 'HEAD', 'POST'], handler }];
}

/** For Socket Mode, where Bolt has no HTTP server of its own: the dashboard alone on `port` (0 picks a free one). */
export function startAdminJobsServer(
  agenda: Agenda,
  credentials: AdminCredentials,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer(adminJobsHandler(agenda, credentials));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // An open dashboard keeps a live event stream (SSE) and keep-alive sockets: without this, close() waits.
            server.closeAllConnections();
          }),
      });
    });
  });
}
