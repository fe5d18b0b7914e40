// What the time charts mark: the annotations that concern the view in view (nationwide ones, its
// region's, its stores') and its alerts' firing and resolution, drawn automatically.
import type { Annotation, ScreenAlert } from '../stream/types.js';
import { alertsOfView } from './alert-list.js';
import type { Locale } from './i18n.js';

export interface ChartMark {
  /** epoch ms; `until` for a span */
  at: number;
  until?: number;
  label: string;
  color: string;
  /** what it is, for tests and tooltips: annotation:<id>, fired:<alert id>, resolved:<alert id> */
  key: string;
}

export interface ViewScope {
  region?: string;
  /** the stores in view: a store's own, a region's stores */
  storeIds: string[];
  channel?: string;
}

const MARK_COLORS: Record<string, string> = { outage: '#c58bff', closure: '#ff9f5a' };
const ANNOTATION_COLOR = '#ffd25a';
const LABEL_MAX = 14;

const shorten = (text: string) => (text.length > LABEL_MAX ? `${text.slice(0, LABEL_MAX - 1)}…` : text);

export function annotationsOfView(annotations: Annotation[], view: ViewScope): Annotation[] {
  return annotations.filter((a) => {
    if (view.channel && a.channel && a.channel !== view.channel) return false;
    if (!view.region) return true;
    if (a.store) return view.storeIds.includes(a.store);
    return !a.region || a.region === view.region;
  });
}

/** The marks within [from, to]: annotations, then alerts fired and resolved. */
export function chartMarks(annotations: Annotation[], alerts: ScreenAlert[], view: ViewScope, range: { from: number; to: number }, locale: Locale): ChartMark[] {
  const marks: ChartMark[] = [];
  const inRange = (at: number, until = at) => until >= range.from && at <= range.to;
  for (const a of annotationsOfView(annotations, view)) {
    const at = Date.parse(a.startsAt);
    const until = a.endsAt ? Date.parse(a.endsAt) : undefined;
    if (!inRange(at, until)) continue;
    marks.push({ at, ...(until !== undefined ? { until } : {}), label: shorten(a.text), color: MARK_COLORS[a.kind] ?? ANNOTATION_COLOR, key: `annotation:${a.id}` });
  }
  for (const alert of alertsOfView(alerts, { region: view.region, storeIds: view.storeIds })) {
    const name = shorten((locale === 'en' ? alert.summaryEn : alert.summary).split(/[:：]/)[0]!);
    if (alert.firedAt && inRange(Date.parse(alert.firedAt))) marks.push({ at: Date.parse(alert.firedAt), label: `⚠ ${name}`, color: '#ff5d6c', key: `fired:${alert.id}` });
    if (alert.resolvedAt && inRange(Date.parse(alert.resolvedAt))) marks.push({ at: Date.parse(alert.resolvedAt), label: `✓ ${name}`, color: '#34e39f', key: `resolved:${alert.id}` });
  }
  return marks;
}

/** The view a frame shows, as the marks and the alert list read it. */
export function scopeOfFrame(frame: { level: string; scope: { region?: string; store?: string; channel?: string }; path: Array<{ id: string }>; children: Array<{ id: string }> }): ViewScope {
  const region = frame.scope.region ?? frame.path[1]?.id;
  const storeIds = frame.level === 'store' ? [frame.scope.store!] : frame.level === 'region' ? frame.children.map((c) => c.id) : [];
  return { ...(region ? { region } : {}), storeIds, ...(frame.scope.channel ? { channel: frame.scope.channel } : {}) };
}

/** The time a chart's points cover, one step past the last (marks beyond are not drawn). */
export function spanOf(points: Array<{ t: string }>): { from: number; to: number } | null {
  if (!points.length) return null;
  const step = points.length > 1 ? Date.parse(points[1]!.t) - Date.parse(points[0]!.t) : 60_000;
  return { from: Date.parse(points[0]!.t), to: Date.parse(points.at(-1)!.t) + step };
}
