import { firstTouch, lastTouch, linear, positionBased, timeDecay } from './heuristics.js';
import { markov } from './markov.js';
import { shapley } from './shapley.js';
import type { ChannelCredit, Model, ModelParams, PathCount } from './types.js';

export { MODELS, type ChannelCredit, type Model, type ModelParams, type PathCount } from './types.js';

export function attribute(model: Model, paths: PathCount[], params: ModelParams = {}): ChannelCredit[] {
  switch (model) {
    case 'first_touch':
      return firstTouch(paths);
    case 'last_touch':
      return lastTouch(paths);
    case 'linear':
      return linear(paths);
    case 'time_decay':
      return timeDecay(paths, params);
    case 'position_based':
      return positionBased(paths, params);
    case 'markov':
      return markov(paths);
    case 'shapley':
      return shapley(paths);
  }
}
