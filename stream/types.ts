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
  /** customers whose first event in the scope falls in the bucket (null for campaigns, which the first-seen ledger does not keep) */
  newUsers: number | null;
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

/** A history point's fields besides its time, in the order an answer lists them (`fields` picks some). */
export const POINT_FIELDS = ['exposure', 'clicks', 'visits', 'conversions', 'revenue', 'spend', 'uniqueUsers', 'ctr', 'cvr', 'roi', 'cac', 'newUsers'] as const;
export type PointField = (typeof POINT_FIELDS)[number];
/** a point of an answer asked for some fields: its time and those */
export type PickedPoint = Partial<MetricPoint> & { t: string };

/** An answer of /api/v1/metrics; asked for some `fields`, its points carry only those (P: Pick<MetricPoint, 't' | those>). */
export interface MetricsResponse<P = MetricPoint> {
  step: Step;
  from: string;
  to: string;
  /** grouped: a series per group (key), the least active beyond `groups.shown` summed into one with `other: true` and key {} */
  series: Array<{ key: Partial<Record<GroupBy, string | null>>; other?: true; points: P[] }>;
  /** grouped answers: how many groups had data, how many got a series of their own, the limit that applied */
  groups?: { total: number; shown: number; limit: number };
}

export interface LiveWindowValues extends MetricValues {
  from: string;
  to: string;
}

export interface LiveResponse {
  scope: Scope;
  asOf: string;
  windows: Record<LiveWindow, LiveWindowValues>;
  /** since local midnight (pipeline utcOffset): what the wall's tiles show */
  today: LiveWindowValues;
  /** exact, from the first-seen ledger; null for a campaign */
  newUsers: NewUsersToday | null;
}

export interface GeoStoreNode {
  id: string;
  name: string;
  nameEn: string;
  city: string;
  cityEn: string;
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

// ── The wall screen's Socket.IO wire format (namespace /screen, CONTRACT §5) ──

/**
 * Figures without unique users, for the wall's breakdowns (children, channels, trend points):
 * a HyperLogLog union per child and bucket would cost more Redis time than the rest of a frame.
 */
export type FlowValues = Omit<MetricValues, 'uniqueUsers'>;
export interface FlowPoint extends FlowValues {
  t: string;
  /** new users in the bucket, where known (history ranges, from the first-seen ledger) */
  newUsers?: number | null;
}

/** What a screen subscribes to: a nation, region or store view, optionally one channel's slice. */
export interface ScreenSubscription {
  region?: string;
  store?: string;
  channel?: string;
}

export type ScreenLevel = 'nation' | 'region' | 'store';

export interface ScreenNamed {
  id: string;
  name: string;
  nameEn: string;
}

/** A drill-down child (a region of the nation, a store of a region) with its figures for today. */
export interface ScreenChild extends ScreenNamed {
  today: FlowValues;
  /** regions: the provinces (adcodes) they cover, for the map */
  provinces?: number[];
  /** stores: their region and where they are */
  region?: string;
  city?: string;
  cityEn?: string;
  lng?: number;
  lat?: number;
}

export interface ScreenChannel extends ScreenNamed {
  kind: string;
  color: string;
  today: FlowValues;
  /** 1-minute points; the whole last hour in a snapshot, the newest few in a frame */
  trend: FlowPoint[];
}

export interface ScreenToday {
  /** local midnight (pipeline utcOffset) to the end of the current 10 s bucket */
  from: string;
  to: string;
  values: MetricValues;
  /** the same span of yesterday, from the database; null until it has been read */
  yesterday: Sums | null;
  /** from the database's first-seen ledger, read every second; null until read (or for a campaign) */
  newUsers: NewUsersToday | null;
}

/** Customers seen for the first time in the scope today (since local midnight) and over the same span yesterday. */
export interface NewUsersToday {
  today: number;
  yesterday: number;
}

/**
 * One view's figures. A snapshot (the `subscribe` ack) carries the whole last hour of trends;
 * a `metrics` frame carries the same fields with only the newest trend points (`partial`).
 */
export interface ScreenFrame {
  viewKey: string;
  level: ScreenLevel;
  scope: ScreenSubscription;
  /** the view's own name (nation: 全国 / Nation) and its parents for the breadcrumb */
  path: ScreenNamed[];
  asOf: string;
  partial: boolean;
  windows: Record<LiveWindow, LiveWindowValues>;
  today: ScreenToday;
  /** 10-second points; the last 60 minutes in a snapshot, the newest few in a frame */
  trend: FlowPoint[];
  channels: ScreenChannel[];
  /** nation: regions; region: its stores; store: none */
  children: ScreenChild[];
  /** every store in view with today's figures, for the foot-traffic ranking (a store view: the store itself) */
  stores: ScreenChild[];
  /** region views: the region's provinces (adcodes), to draw its map */
  provinces?: number[];
}

export type ScreenSubscribeAck = { snapshot: ScreenFrame } | { error: string };

export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertState = 'pending' | 'firing' | 'recovering' | 'resolved' | 'cleared';
/** the states of a rule instance's one open alert (acknowledged, silenced, kept in the database); the others are over */
export const OPEN_ALERT_STATES = ['pending', 'firing', 'recovering'] as const satisfies readonly AlertState[];
/** OPEN_ALERT_STATES as an SQL list: state IN (…) */
export const OPEN_ALERT_STATES_SQL = OPEN_ALERT_STATES.map((s) => `'${s}'`).join(', ');

/**
 * An alert as the API lists it and as the `alert` event on /screen carries it (fired, resolved,
 * acknowledged, …). `cleared`: a pending breach that ended before its `for` (never notified).
 */
/** Kinds of marketing moment an annotation marks. */
export const ANNOTATION_KINDS = ['campaign', 'price', 'coupon', 'closure', 'outage', 'other'] as const;
export type AnnotationKind = (typeof ANNOTATION_KINDS)[number];

/** A marketing moment marked on the time charts (GET /api/v1/annotations, the `annotation` event). */
export interface Annotation {
  id: string;
  /** ISO time; `endsAt` null for a moment, else the end of a span */
  startsAt: string;
  endsAt: string | null;
  text: string;
  kind: AnnotationKind;
  /** scope: null = nationwide / every channel; a store's annotation carries its region */
  region: string | null;
  store: string | null;
  channel: string | null;
  campaign: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** The `annotation` event: one created or edited (`annotation`), or deleted (`deleted`: its id). */
export type AnnotationChange = { annotation: Annotation } | { deleted: string; region: string | null };

export interface ScreenAlert {
  id: string;
  ruleId: string;
  state: AlertState;
  severity: AlertSeverity;
  /** rule, severity, metric and the instance's dimensions (channel, region, store, campaign) */
  labels: Record<string, string>;
  /** one line for the ticker, e.g. "渠道转化率骤降 · 抖音：转化率 0.91%（较昨日同期 −62%）" */
  summary: string;
  summaryEn: string;
  value: number | null;
  /** event time the breach began */
  activeSince: string;
  firedAt: string | null;
  /** event time the value was last back inside the bound after firing (recovering since; kept once resolved) */
  recoveringSince: string | null;
  resolvedAt: string | null;
  ackedBy: string | null;
  ackedAt: string | null;
  /** the silence that keeps it from notifying, if any */
  silencedBy: string | null;
  /** when this change happened */
  at: string;
}

/** GET /api/v1/attribution and the `attribution` event: credits per model and channel over local days. */
export interface AttributionView {
  from: string;
  to: string;
  /** null: the whole business; else the regions whose customers' orders these credits sum (spend and revenue are theirs too) */
  regions: string[] | null;
  /** per model: credits per channel over the range, with the channel's spend and ROI on attributed revenue */
  models: Record<string, Array<{ channel: string; conversions: number; value: number; spend: number; roi: number | null }>>;
  /** all revenue in the range (attributed or not): attribution covers only orders whose users' touches are known */
  revenue: number;
  /** the revenue of the online channels (not the stores' tills): what attribution could cover */
  onlineRevenue: number;
  updatedAt: string | null;
}

/** The customer segments of the last run (GET /api/v1/segments, the `segments` socket event), for the regions a role sees. */
export interface SegmentsView {
  /** when the last run computed them; null before the first run */
  runAt: string | null;
  /** the run before it, which `change` and `moves` compare with */
  previousRunAt: string | null;
  /** null: every region (and customers whose orders carry none); else these regions only */
  regions: string[] | null;
  customers: number;
  tiers: Array<{ tier: string; customers: number; value: number; change: number | null }>;
  stages: Array<{ stage: string; customers: number; change: number | null }>;
  byRegion: Array<{ region: string; customers: number; tiers: Record<string, number> }>;
  /** customers who changed tier since the previous run; from '' = a new customer, to '' = no order within the history any more */
  moves: Array<{ from: string; to: string; customers: number }>;
}
