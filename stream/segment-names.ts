// The customer segments, defined once: the segments job stores these ids, the API and the
// `segments` socket event carry them, the wall shows the tiers' names.

export const TIERS = ['high_value', 'potential', 'general', 'at_risk', 'churned'] as const;
export type Tier = (typeof TIERS)[number];

export const STAGES = ['new', 'active', 'loyal', 'dormant', 'churned'] as const;
export type Stage = (typeof STAGES)[number];

export const TIER_NAMES: Record<Tier, { zh: string; en: string }> = {
  high_value: { zh: '高价值', en: 'High value' },
  potential: { zh: '潜力', en: 'Potential' },
  general: { zh: '一般', en: 'General' },
  at_risk: { zh: '流失预警', en: 'At risk' },
  churned: { zh: '已流失', en: 'Churned' },
};
