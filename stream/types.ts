// The wire format, defined once: imported by the server, the processor and the screen.

export const EVENT_TYPES = ['exposure', 'click', 'visit', 'conversion', 'spend'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as producers send it (CONTRACT §2), before validation. */
export interface IncomingEvent {
  id: string;
  type: EventType;
  /** ISO-8601 with a zone, or epoch milliseconds */
  ts: string | number;
  channel: string;
  count?: number;
  value?: number;
  region?: string;
  store?: string;
  campaign?: string;
  userId?: string;
}

/** An event after validation: ts in epoch ms, region filled in from the store, value rounded. */
export interface MarketingEvent {
  id: string;
  type: EventType;
  ts: number;
  channel: string;
  count: number;
  value: number;
  region?: string;
  store?: string;
  campaign?: string;
  userId?: string;
}

/** The additive measures kept per bucket. Money is in currency units (exact to `valueDecimals`). */
export const SUM_FIELDS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend'] as const;
export type SumField = (typeof SUM_FIELDS)[number];
export type Sums = Record<SumField, number>;

export interface MetricValues extends Sums {
  uniqueUsers: number;
  ctr: number | null;
  cvr: number | null;
  roi: number | null;
  cac: number | null;
}

export interface MetricPoint extends MetricValues {
  /** bucket start, ISO-8601 UTC */
  t: string;
}

/** A filter over the dimensions; absent fields mean "all". */
export interface Scope {
  region?: string;
  store?: string;
  channel?: string;
  campaign?: string;
}

export const GROUP_BY = ['channel', 'region', 'store', 'campaign'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export const STEPS = ['10s', '1m', '5m', '15m', '1h', '1d'] as const;
export type Step = (typeof STEPS)[number];

export const LIVE_WINDOWS = ['1m', '5m', '15m', '1h', '24h'] as const;
export type LiveWindow = (typeof LIVE_WINDOWS)[number];

export interface MetricsResponse {
  step: Step;
  from: string;
  to: string;
  series: Array<{ key: Partial<Record<GroupBy, string>>; points: MetricPoint[] }>;
}

export interface LiveWindowValues extends MetricValues {
  from: string;
  to: string;
}

export interface LiveResponse {
  scope: Scope;
  asOf: string;
  windows: Record<LiveWindow, LiveWindowValues>;
}

export interface GeoStoreNode {
  id: string;
  name: string;
  nameEn: string;
  city: string;
  province: number;
  lng: number;
  lat: number;
  live: MetricValues;
}

export interface GeoRegionNode {
  id: string;
  name: string;
  nameEn: string;
  provinces: Array<{ adcode: number; name: string; nameEn: string }>;
  live: MetricValues;
  stores: GeoStoreNode[];
}

export interface GeoResponse {
  window: LiveWindow;
  asOf: string;
  regions: GeoRegionNode[];
}

export interface IngestResponse {
  accepted: number;
  duplicates: number;
  rejected: Array<{ index: number; error: string }>;
}

export type Role = 'ops' | 'manager' | 'oncall' | 'admin';
