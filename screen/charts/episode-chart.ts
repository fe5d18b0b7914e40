// A rule's series as the on-call console draws it (an alert's page, "try it on history"): the
// metric per window, the detector's baseline dashed, a threshold rule's bound as a line, and each
// alert episode shaded from its onset to its end — red where it would have notified, faint where
// it was recovering (back inside the bound, kept open for keepFiringFor).
import { formatExact } from '../format.js';
import type { Locale } from '../i18n.js';
import type { ChartOptions } from './options.js';
import { COLORS } from './theme.js';

export interface PreviewEpisode {
  start: string;
  end: string | null;
  firedAt: string | null;
  /** back inside the bound for good: recovering (keepFiringFor) until its end */
  recoveredAt: string | null;
  wouldNotify: boolean;
  /** the window furthest from its baseline (or past a threshold's bound) */
  peak: { t: string; value: number | null; score: number };
}

export interface PreviewInstance {
  key: string;
  labels: Record<string, string>;
  findings: Array<{ t: string; value: number | null; score: number }>;
  episodes: PreviewEpisode[];
  series?: Array<[number, number | null, number | null]>;
}

export interface PreviewAnswer {
  ruleId: string;
  from: string;
  to: string;
  windowSeconds: number;
  windows: number;
  instances: PreviewInstance[];
  notifications: number;
  /** windows judged over every instance, and how many had too little history before them */
  judgedWindows: { of: number; unjudged: number };
  bound?: { below: number } | { above: number };
}

export interface EpisodeChartText {
  value: string;
  baseline: string;
  bound: string;
}

export function episodeChartOptions(answer: Pick<PreviewAnswer, 'bound' | 'to' | 'windowSeconds'>, instance: PreviewInstance, locale: Locale, text: EpisodeChartText): ChartOptions {
  const { bound, to } = answer;
  const windowMs = answer.windowSeconds * 1000;
  const series = instance.series ?? [];
  const label = (value: number) =>
    new Date(value).toLocaleString(locale === 'zh' ? 'zh-CN' : 'en-GB', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
  // a point is its window's end: an episode covers its first window from that window's start
  const bandsOf = (episode: PreviewEpisode) => {
    const end = Date.parse(episode.end ?? to);
    const recovered = episode.recoveredAt ? Math.min(end, Date.parse(episode.recoveredAt) - windowMs) : end;
    const bands = [[
      { xAxis: Date.parse(episode.start) - windowMs, itemStyle: { color: episode.wouldNotify ? 'rgba(255, 93, 108, 0.28)' : 'rgba(255, 181, 71, 0.2)' } },
      { xAxis: recovered },
    ]];
    if (recovered < end) bands.push([{ xAxis: recovered, itemStyle: { color: 'rgba(52, 227, 159, 0.08)' } }, { xAxis: end }]);
    return bands;
  };
  const boundValue = bound ? ('below' in bound ? bound.below : bound.above) : null;
  return {
    base: {
      animation: false, // drawn at once: a screenshot or a glance mid-animation would show a partial line
      grid: { left: 12, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, left: 0, textStyle: { color: COLORS.muted, fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'time', axisLabel: { color: COLORS.muted, fontSize: 13, hideOverlap: true, formatter: label }, splitLine: { show: false } },
      yAxis: { type: 'value', scale: true, axisLabel: { color: COLORS.muted, fontSize: 13 }, splitLine: { lineStyle: { color: COLORS.grid } } },
    },
    data: {
      series: [
        {
          name: text.value, type: 'line', showSymbol: false, connectNulls: false, lineStyle: { width: 2, color: COLORS.accent }, itemStyle: { color: COLORS.accent },
          data: series.map(([t, value]) => [t, value]),
          markArea: { silent: true, data: instance.episodes.flatMap(bandsOf) },
          // each onset as a line too: over days, a one-window band is thinner than a pixel
          markLine: {
            silent: true, symbol: 'none',
            data: [
              ...(boundValue !== null ? [{ yAxis: boundValue, label: { formatter: `${text.bound} ${formatExact(boundValue, locale)}`, color: COLORS.warn, position: 'insideEndTop' }, lineStyle: { color: COLORS.warn, type: 'dashed' } }] : []),
              ...instance.episodes.map((e) => ({ xAxis: Date.parse(e.start), label: { show: false }, lineStyle: { color: e.wouldNotify ? COLORS.bad : COLORS.warn, type: 'solid', width: 1.5, opacity: 0.8 } })),
            ],
          },
        },
        ...(series.some(([, , baseline]) => baseline !== null)
          ? [{ name: text.baseline, type: 'line', showSymbol: false, lineStyle: { width: 1.5, type: 'dashed', color: COLORS.muted }, itemStyle: { color: COLORS.muted }, data: series.map(([t, , baseline]) => [t, baseline]) }]
          : []),
      ],
    },
  };
}

/** "channel=douyin region=east", or the rule's single instance */
export const instanceName = (instance: PreviewInstance): string =>
  Object.entries(instance.labels).filter(([name]) => !['rule', 'severity', 'metric'].includes(name)).map(([name, value]) => `${name}=${value}`).join(' ') || '—';
