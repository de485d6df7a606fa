/**
 * The HTTP receiver for POST /slack/events, with limits on what a request may be: a body over
 * MAX_BODY_BYTES is refused with 413 (Slack's own payloads are far smaller), and a correctly signed
 * body Bolt 5.1 cannot read with 400. A body that is not an object (`payload=null`) would make
 * Bolt read `null.ssl_check` outside any handler: an unhandled rejection, which ends the process.
 * A payload missing a field Bolt reads before any listener (`user`, `view`) would be a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type CustomRoute,
  HTTPModuleFunctions,
  HTTPReceiver,
  type HTTPReceiverOptions,
  isValidSlackRequest,
  type LogLevel,
} from '@slack/bolt';
import type { Logger } from './logger.js';

/** The largest request body taken, in bytes: 1 MiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

const SLACK_PATH = '/slack/events';

export interface ReceiverOptions {
  signingSecret: string;
  logger: Logger;
  logLevel: LogLevel;
  customRoutes: CustomRoute[];
  /** With OAuth distribution: the install routes and the installation store (src/oauth.ts). */
  oauth?: Partial<HTTPReceiverOptions>;
}

export function slackReceiver({ signingSecret, logger, logLevel, customRoutes, oauth }: ReceiverOptions): HTTPReceiver {
  const receiver = new HTTPReceiver({
    ...oauth,
    signingSecret,
    endpoints: SLACK_PATH,
    logger,
    logLevel,
    customRoutes,
    bodyLimit: MAX_BODY_BYTES,
    // Before any listener runs, Bolt only reads the payload: a TypeError there is a payload it cannot read.
    processEventErrorHandler: async (args) => {
      if (args.response.headersSent || !(args.error instanceof TypeError)) {
        return HTTPModuleFunctions.defaultProcessEventErrorHandler(args);
      }
      logger.warn(`refused a signed request Bolt cannot read: ${args.error.message}`);
      HTTPModuleFunctions.buildNoBodyResponse(args.response, 400);
      return true;
    },
  });
  const handle = receiver.requestListener;
  receiver.requestListener = (req, res) => {
    if (req.method?.toUpperCase() !== 'POST' || pathOf(req) !== SLACK_PATH) return handle(req, res);
    admit(req, res, signingSecret, logger)
      .then((admitted) => {
        if (admitted) handle(req, res);
      })
      .catch((error: unknown) => {
        logger.warn(`could not read a request: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, 400);
      });
  };
  return receiver;
}

function pathOf(req: IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

/**
 * Reads the body (Bolt then uses it as read: it skips a request whose rawBody is set) and answers
 * the requests Bolt must not see. True when Bolt may take it from here, signature check included.
 */
async function admit(req: IncomingMessage, res: ServerResponse, signingSecret: string, logger: Logger) {
  let buffered: Awaited<ReturnType<typeof HTTPModuleFunctions.bufferIncomingMessage>>;
  try {
    buffered = await HTTPModuleFunctions.bufferIncomingMessage(req, MAX_BODY_BYTES);
  } catch (error) {
    if (HTTPModuleFunctions.isRawBodyError(error) && error.statusCode === 413) {
      logger.warn(`refused a request body over ${MAX_BODY_BYTES} bytes`);
      // The rest of the body is left unread: the connection cannot carry another request.
      res.writeHead(413, { connection: 'close' });
      res.end();
      return false;
    }
    throw error;
  }
  const signed = isValidSlackRequest({
    signingSecret,
    body: buffered.rawBody.toString(),
    headers: {
      'x-slack-signature': String(req.headers['x-slack-signature'] ?? ''),
      'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
    },
  });
  // Unsigned requests are Bolt's to refuse (401), and bodies it cannot parse at all (400).
  if (!signed) return true;
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(buffered);
  } catch {
    return true;
  }
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return true;
  logger.warn('refused a signed request whose body is not a Slack payload object');
  HTTPModuleFunctions.buildNoBodyResponse(res, 400);
  return false;
}
