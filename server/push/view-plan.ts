// Which hot scopes make up a screen view: the view's own scope, its channels, its drill-down
// children and the stores it ranks. Pure; the readers and the push loop follow this plan.

import type { AppConfig, Store } from '../../config/load.js';
import { scopeKeyOf } from '../../stream/scopes.js';
import type { FlowPoint, FlowValues, ScreenChild, ScreenFrame, ScreenLevel, ScreenNamed, ScreenSubscription } from '../../stream/types.js';

export interface PlannedChannel extends ScreenNamed {
  kind: string;
  color: string;
  key: string;
}

export interface PlannedChild {
  node: Omit<ScreenChild, 'today'>;
  key: string;
}

export interface ViewPlan {
  /** the hot scope key of the view itself; also names its Socket.IO room */
  viewKey: string;
  level: ScreenLevel;
  scope: ScreenSubscription;
  path: ScreenNamed[];
  channels: PlannedChannel[];
  children: PlannedChild[];
  stores: PlannedChild[];
  provinces?: number[];
}

export const NATION: ScreenNamed = { id: 'nation', name: '全国', nameEn: 'Nation' };

const storeNode = (store: Store) => ({ id: store.id, name: store.name, nameEn: store.nameEn, region: store.region, city: store.city, cityEn: store.cityEn, lng: store.lng, lat: store.lat });

/** The plan of an already authorized subscription (ids are known to exist). */
export function planView(cfg: AppConfig, scope: ScreenSubscription): ViewPlan {
  const channelFilter = scope.channel;
  const keyOf = (s: ScreenSubscription) => scopeKeyOf({ ...s, channel: channelFilter })!;
  const store = scope.store !== undefined ? cfg.storeById.get(scope.store)! : undefined;
  const regionId = store?.region ?? scope.region;
  const region = regionId !== undefined ? cfg.regionById.get(regionId)! : undefined;
  const level: ScreenLevel = store ? 'store' : region ? 'region' : 'nation';
  const canonical: ScreenSubscription = { ...(region && { region: region.id }), ...(store && { store: store.id }), ...(channelFilter && { channel: channelFilter }) };

  const path: ScreenNamed[] = [NATION];
  if (region) path.push({ id: region.id, name: region.name, nameEn: region.nameEn });
  if (store) path.push({ id: store.id, name: store.name, nameEn: store.nameEn });

  const channels = cfg.channels
    .filter((c) => channelFilter === undefined || c.id === channelFilter)
    .map((c) => ({ id: c.id, name: c.name, nameEn: c.nameEn, kind: c.kind, color: c.color, key: scopeKeyOf({ region: region?.id, store: store?.id, channel: c.id })! }));

  const storesOf = (stores: Store[]) => stores.map((s) => ({ node: storeNode(s), key: keyOf({ store: s.id }) }));
  let children: PlannedChild[] = [];
  let stores: PlannedChild[] = [];
  if (level === 'nation') {
    children = cfg.regions.map((r) => ({ node: { id: r.id, name: r.name, nameEn: r.nameEn, provinces: r.provinces.map((p) => p.adcode) }, key: keyOf({ region: r.id }) }));
    stores = storesOf(cfg.regions.flatMap((r) => r.stores.map((s) => cfg.storeById.get(s.id)!)));
  } else if (level === 'region') {
    children = storesOf(region!.stores.map((s) => cfg.storeById.get(s.id)!));
    stores = children;
  } else {
    stores = storesOf([store!]); // the store itself: its city and place for the store card
  }
  const provinces = level === 'region' ? region!.provinces.map((p) => p.adcode) : undefined;
  return { viewKey: keyOf({ region: store ? undefined : region?.id, store: store?.id }), level, scope: canonical, path, channels, children, stores, provinces };
}

/** The subscription a view key stands for (the inverse of `planView(...).viewKey`). */
export function subscriptionOfViewKey(viewKey: string): ScreenSubscription | null {
  const [kind, a, b] = viewKey.split(':');
  switch (kind) {
    case 'all': return {};
    case 'c': return { channel: a! };
    case 'r': return { region: a! };
    case 'rc': return { region: a!, channel: b! };
    case 's': return { store: a! };
    case 'sc': return { store: a!, channel: b! };
    default: return null;
  }
}

export function isKnownView(cfg: AppConfig, s: ScreenSubscription): boolean {
  return (s.region === undefined || cfg.regionById.has(s.region))
    && (s.store === undefined || cfg.storeById.has(s.store))
    && (s.channel === undefined || cfg.channelById.has(s.channel));
}

/** A view's figures, placed by the plan's order (channels, children, stores). */
export interface FrameFigures {
  asOf: number;
  partial: boolean;
  windows: ScreenFrame['windows'];
  today: ScreenFrame['today'];
  trend: FlowPoint[];
  channel(index: number): { today: FlowValues; trend: FlowPoint[] };
  child(index: number): FlowValues;
  store(index: number): FlowValues;
}

/** The frame the wall draws, from a plan and its figures: the live push and the replay build it alike. */
export function frameOf(plan: ViewPlan, figures: FrameFigures): ScreenFrame {
  return {
    viewKey: plan.viewKey,
    level: plan.level,
    scope: plan.scope,
    path: plan.path,
    asOf: new Date(figures.asOf).toISOString(),
    partial: figures.partial,
    windows: figures.windows,
    today: figures.today,
    trend: figures.trend,
    channels: plan.channels.map(({ key: _key, ...channel }, i) => ({ ...channel, ...figures.channel(i) })),
    children: plan.children.map((child, i) => ({ ...child.node, today: figures.child(i) })),
    stores: plan.stores.map((store, i) => ({ ...store.node, today: figures.store(i) })),
    ...(plan.provinces && { provinces: plan.provinces }),
  };
}
