// Believable channel economics for the demo: impressions per second at the daily peak, click-through,
// conversion (of clicks), average order value and cost per thousand impressions (CNY), and who
// the clicks and orders belong to.

export interface ChannelProfile {
  peakExposurePerSec: number;
  ctr: number;
  cvr: number;
  aov: number;
  cpm: number;
  /** share of clicks by known people (logged in / matched): the touches attribution sees */
  trackedShare: number;
  /** share of those known people's browsing clicks that start a purchase journey (upper funnel high) rather than continue one */
  opens: number;
  /** share of orders placed by people the retailer cannot match (marketplace guests): no user id, no path */
  guestShare: number;
}

// A retailer of 62 stores whose online revenue is a little below its stores': ~1.3 online orders a
// second at the evening peak. Every known buyer's order follows a click on its channel, earlier
// touches on others (see journeys.ts).
export const CHANNEL_PROFILES: Record<string, ChannelProfile> = {
  douyin:      { peakExposurePerSec: 300, ctr: 0.018, cvr: 0.03, aov: 200, cpm: 45, trackedShare: 0.08, opens: 0.9, guestShare: 0.2 },
  wechat:      { peakExposurePerSec: 200, ctr: 0.012, cvr: 0.04, aov: 260, cpm: 55, trackedShare: 0.1, opens: 0.7, guestShare: 0.1 },
  xiaohongshu: { peakExposurePerSec: 125, ctr: 0.025, cvr: 0.02, aov: 280, cpm: 60, trackedShare: 0.08, opens: 0.9, guestShare: 0.2 },
  baidu:       { peakExposurePerSec: 100, ctr: 0.04, cvr: 0.035, aov: 300, cpm: 120, trackedShare: 0.1, opens: 0.8, guestShare: 0.25 },
  taobao:      { peakExposurePerSec: 175, ctr: 0.03, cvr: 0.05, aov: 150, cpm: 35, trackedShare: 0.05, opens: 0.5, guestShare: 0.3 },
  jd:          { peakExposurePerSec: 125, ctr: 0.028, cvr: 0.055, aov: 240, cpm: 40, trackedShare: 0.05, opens: 0.5, guestShare: 0.3 },
  app:         { peakExposurePerSec: 60, ctr: 0.06, cvr: 0.08, aov: 200, cpm: 60, trackedShare: 0.25, opens: 0.3, guestShare: 0 },
  wecom:       { peakExposurePerSec: 15, ctr: 0.1, cvr: 0.09, aov: 260, cpm: 150, trackedShare: 0.4, opens: 0.2, guestShare: 0 },
  sms:         { peakExposurePerSec: 40, ctr: 0.02, cvr: 0.04, aov: 120, cpm: 40, trackedShare: 0.15, opens: 0.5, guestShare: 0.05 },
  email:       { peakExposurePerSec: 30, ctr: 0.015, cvr: 0.03, aov: 150, cpm: 10, trackedShare: 0.12, opens: 0.5, guestShare: 0.05 },
};

/** Share of national online traffic by region (population and spending power, roughly). */
export const REGION_WEIGHTS: Record<string, number> = {
  east: 0.32, north: 0.16, south: 0.18, central: 0.12, southwest: 0.11, northwest: 0.05, northeast: 0.06,
};

/** Online activity by local hour (0..1): quiet night, lunch bump, evening peak around 21:00. */
const ONLINE_BY_HOUR = [0.25, 0.15, 0.1, 0.07, 0.06, 0.08, 0.15, 0.3, 0.45, 0.55, 0.6, 0.7, 0.8, 0.7, 0.65, 0.65, 0.68, 0.72, 0.8, 0.9, 0.97, 1, 0.85, 0.5];

/** Store foot traffic by local hour inside opening hours: afternoon and evening peaks. */
const STORE_BY_HOUR = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.35, 0.5, 0.7, 0.65, 0.6, 0.7, 0.8, 0.85, 0.95, 1, 0.9, 0.7, 0.45, 0.2];

const interpolate = (curve: number[], localHours: number) => {
  const h = Math.floor(localHours) % 24;
  const next = (h + 1) % 24;
  const f = localHours - Math.floor(localHours);
  return curve[h]! * (1 - f) + curve[next]! * f;
};

export const onlineActivity = (localHours: number) => interpolate(ONLINE_BY_HOUR, localHours);
export const storeActivity = (localHours: number) => interpolate(STORE_BY_HOUR, localHours);

/** Whether a store with hours "10:00-22:00" is open at the given local time. */
export function isOpen(hours: string, localHours: number): boolean {
  const [open, close] = hours.split('-').map((hm) => {
    const [h, m] = hm.split(':').map(Number);
    return h! + m! / 60;
  });
  return localHours >= open! && localHours < close!;
}
