// The dark wall theme: deep navy ground, cyan accents, large light type readable across a room.

export const COLORS = {
  ground: '#050b1a',
  panel: '#0a1630',
  panelBorder: '#1d3a6e',
  text: '#e6f1ff',
  muted: '#8fa8cc',
  accent: '#36d1ff',
  good: '#34e39f',
  bad: '#ff5d6c',
  warn: '#ffb547',
  grid: 'rgba(143, 168, 204, 0.14)',
};

export const SERIES_COLORS = ['#36d1ff', '#34e39f', '#ffb547', '#ff7ab6', '#a88bff', '#5d8bff', '#ffd166', '#4ff0d8', '#ff8a5b', '#9ad04f', '#d9a0ff'];

const axis = {
  axisLine: { lineStyle: { color: COLORS.panelBorder } },
  axisTick: { show: false },
  axisLabel: { color: COLORS.muted, fontSize: 16 },
  splitLine: { lineStyle: { color: COLORS.grid } },
};

export const WALL_THEME = {
  color: SERIES_COLORS,
  backgroundColor: 'transparent',
  textStyle: { color: COLORS.text, fontFamily: "'Noto Sans CJK SC', 'PingFang SC', 'Microsoft YaHei', sans-serif", fontSize: 16 },
  legend: { textStyle: { color: COLORS.muted, fontSize: 16 }, itemWidth: 16, itemHeight: 10 },
  tooltip: {
    backgroundColor: 'rgba(10, 22, 48, 0.95)', borderColor: COLORS.panelBorder,
    textStyle: { color: COLORS.text, fontSize: 16 },
  },
  categoryAxis: axis,
  valueAxis: axis,
  timeAxis: axis,
  // the ROI and channel revenue charts: without it a log axis takes ECharts' light-theme grid, bright white on the wall
  logAxis: axis,
  line: { symbol: 'none', lineStyle: { width: 2.5 } },
  bar: { itemStyle: { borderRadius: [0, 4, 4, 0] } },
  geo: {
    itemStyle: { areaColor: '#12264d', borderColor: '#2f5ba6' },
    emphasis: { itemStyle: { areaColor: '#1f4a8a' }, label: { color: COLORS.text } },
  },
  map: {
    itemStyle: { areaColor: '#12264d', borderColor: '#2f5ba6' },
    label: { color: COLORS.muted },
    emphasis: { itemStyle: { areaColor: '#2a66c4' }, label: { color: COLORS.text } },
  },
};
