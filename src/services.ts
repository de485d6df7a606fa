/** What the Slack listeners and the use cases behind them need from the rest of the app, passed in rather than imported. */
import type { Config } from './config.js';
import type { Installations } from './engine/install/installations.js';
import type { ToolChoice } from './engine/plan/choices.js';
import type { Engine } from './engine/run/engine.js';
import type { Logger } from './logger.js';

export interface Services {
  config: Config;
  engine: Engine;
  logger: Logger;
  /** With OAuth distribution, where each workspace's installation is kept; null for one workspace. */
  installations?: Installations | null;
  /** The tools agents can be given (the catalog built at start); none when unset. */
  toolChoices?: readonly ToolChoice[];
}
