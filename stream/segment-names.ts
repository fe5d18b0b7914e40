// The customer segments, defined once with their display names: the segments job stores these
// ids, the API and the `segments` socket event carry them, the wall shows the names.

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

export const STAGE_NAMES: Record<Stage, { zh: string; en: string }> = {
  new: { zh: '新客', en: 'New' },
  active: { zh: '活跃', en: 'Active' },
  loyal: { zh: '忠诚', en: 'Loyal' },
  dormant: { zh: '沉睡', en: 'Dormant' },
  churned: { zh: '流失', en: 'Churned' },
};
