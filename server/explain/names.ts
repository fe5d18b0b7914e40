// Segments as people read them: names from the configuration, in Chinese and in English.
import type { AppConfig } from '../../config/load.js';
import type { Contributor, Explanation } from './contributions.js';

/** "抖音 × 华东" / "Douyin × East China" for a segment. */
export function segmentNames(segment: Contributor['segment'], cfg: AppConfig): [string, string] {
  const parts: Array<[string, string]> = [];
  for (const [dim, id] of Object.entries(segment)) {
    if (id === null || id === undefined) parts.push(dim === 'campaign' ? ['无活动', 'no campaign'] : dim === 'region' ? ['未知地区', 'no region'] : ['线上', 'online']);
    else if (dim === 'region') { const r = cfg.regionById.get(id); parts.push(r ? [r.name, r.nameEn] : [id, id]); }
    else if (dim === 'store') { const s = cfg.storeById.get(id); parts.push(s ? [s.name, s.nameEn] : [id, id]); }
    else if (dim === 'channel') { const c = cfg.channelById.get(id); parts.push(c ? [c.name, c.nameEn] : [id, id]); }
    else parts.push([`活动 ${id}`, `campaign ${id}`]);
  }
  return [parts.map((p) => p[0]).join(' × '), parts.map((p) => p[1]).join(' × ')];
}

/** Every contributor of an answer with its names (`label`, `labelEn`), for screens and API users alike. */
export function withNames<T extends Explanation>(answer: T, cfg: AppConfig): T {
  const named = (c: Contributor) => {
    const [label, labelEn] = segmentNames(c.segment, cfg);
    return { ...c, label, labelEn };
  };
  return { ...answer, top: answer.top.map(named), bySegmentation: Object.fromEntries(Object.entries(answer.bySegmentation).map(([k, list]) => [k, list.map(named)])) };
}
