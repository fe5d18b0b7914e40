import type { AlertRule, DetectorSpec } from '../../config/alert-schema.js';
import { autoDetector } from './auto.js';
import { changeDetector } from './change.js';
import { ewmaDetector } from './ewma.js';
import { seasonalDetector } from './seasonal.js';
import { thresholdDetector } from './threshold.js';
import type { Detector } from './types.js';
import { zscoreDetector } from './zscore.js';

export type { Detector, Judgement, SeriesPoint } from './types.js';

export function detectorOf(spec: DetectorSpec): Detector {
  switch (spec.kind) {
    case 'drop':
    case 'rise':
      return changeDetector(spec);
    case 'zscore':
      return zscoreDetector(spec);
    case 'ewma':
      return ewmaDetector(spec);
    case 'seasonal':
      return seasonalDetector(spec);
    case 'auto':
      return autoDetector(spec);
  }
}

/** The detector a rule runs: its threshold or its detector. */
export function ruleDetector(rule: Pick<AlertRule, 'when' | 'detector'>): Detector {
  return rule.when ? thresholdDetector(rule.when) : detectorOf(rule.detector!);
}
