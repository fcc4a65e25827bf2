// The operator's settings for tests: the defaults with some replaced (kept out of the operator's
// own config module, which only reads the environment).
import { loadConfig, type OperatorConfig } from '../../operator/src/config/operator-config.js';

export function configWith(overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return { ...loadConfig({}), ...overrides };
}
