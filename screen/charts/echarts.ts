// ECharts with only the parts the wall uses, the wall theme registered once, the maps registered once,
// and labels measured on canvases that are replaced as they fill (text-measure.ts).
import { BarChart, FunnelChart, LineChart, MapChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { chinaGeoJson } from './china-geo.js';
import { rotatingTextMeasure } from './text-measure.js';
import { WALL_THEME } from './theme.js';

echarts.use([
  BarChart, FunnelChart, LineChart, MapChart, ScatterChart,
  GeoComponent, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, VisualMapComponent, CanvasRenderer,
]);
echarts.setPlatformAPI({ measureText: rotatingTextMeasure(() => document.createElement('canvas')) });
echarts.registerTheme('wall', WALL_THEME);
echarts.registerMap('china', chinaGeoJson as never);

export { echarts };
