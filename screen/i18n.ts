// Chinese by default, English switchable; the choice is remembered on this display.
import { createI18n } from 'vue-i18n';

const zh = {
  title: '营销实时监控大屏',
  nation: '全国',
  login: { title: '登录', username: '用户名', password: '密码', submit: '登录', failed: '用户名或密码错误', unreachable: '无法连接服务器', blocked: '登录失败次数过多，请 {minutes} 分钟后再试' },
  logout: '退出',
  range: { live: '实时', today: '今日', '7d': '近7天', '30d': '近30天' },
  connection: { live: '实时连接', connecting: '连接中…', lost: '连接中断，正在重连' },
  asOf: '数据时间',
  stale: '数据已 {seconds} 秒未更新',
  kpi: {
    exposure: '曝光', clicks: '点击', conversions: '转化', revenue: '销售额', spend: '花费', roi: 'ROI',
    visits: '到店客流', uniqueUsers: '独立用户', newUsers: '新增用户', cvr: '转化率', ctr: '点击率', posConversions: '门店成交', aov: '客单价', perVisitor: '人均消费', cac: '获客成本',
  },
  vsYesterday: '较昨日同期', vsPrevious: '较上一周期', noCompare: '无对比数据', uniqueShort: '独立 {n}', uniqueDailyAverage: '独立 {n}/日',
  panel: {
    channelTrend: '渠道销售额趋势', roi: '渠道 ROI', funnel: '转化漏斗', map: '区域分布', storeRanking: '门店客流排行',
    alerts: '实时告警', segments: '客户分层', attribution: '多触点归因', scopeTrend: '实时趋势', trend: '趋势',
    children: '下钻', storeTraffic: '门店客流趋势', channels: '渠道表现', storeCard: '门店概况',
  },
  unit: { perMinute: '每分钟', perFiveMinutes: '每 5 分钟', perTenSeconds: '每 10 秒' },
  store: { city: '城市', region: '所属区域', revenuePerVisitor: '人均消费', conversionRate: '进店转化' },
  alertState: { pending: '观察中', firing: '告警中', recovering: '恢复中', silenced: '静默中', resolved: '已恢复', cleared: '已消除' },
  console: {
    title: '告警详情', toWall: '← 返回大屏', notFound: '告警不存在，或你无权查看', unreachable: '无法连接服务器，稍后重试',
    severity: { critical: '严重', warning: '警告', info: '提示' },
    since: '开始于', fired: '告警于', recovering: '回到正常于', resolved: '恢复于', ackedAt: '确认',
    recoveringNote: '指标已回到正常范围；再保持 {keep} 不越界即恢复并发出恢复通知，其间再次越界仍算本条告警，不会重复通知',
    ack: '确认告警', acked: '已确认', silenceFor: '静默 {span}', hour1: '1 小时', hour4: '4 小时', silenceMorning: '静默至明早 09:00',
    silenced: '已静默：在此期间不再通知', silenceComment: '{who} 从告警页静默', readOnly: '只读：确认和静默需要值班或管理员角色',
    notifications: '通知记录', noNotifications: '尚未发出通知',
    anyTime: '全部时间', since1h: '近 1 小时', since24h: '近 24 小时', since7d: '近 7 天',
    list: '告警列表', toList: '← 全部告警', allStates: '全部状态', allSeverities: '全部级别', everything: '全部维度',
    silences: '静默规则', noSilences: '当前无静默', until: '至 {time}', expire: '结束静默',
    around: '告警前后的指标', noSeries: '暂无可绘制的数据', episodesHere: '此期间共 {n} 段告警', latestPartOnly: '告警持续太久，图中只画最近一段：自 {from} 起（告警始于 {since}）',
    chartValue: '指标值', chartBaseline: '基线（检测器的预期）', chartBound: '阈值',
    timeline: '状态时间线', silencedNow: '当前处于静默中：不会发送通知',
    step: { pending: '进入观察（pending）', firing: '开始告警（firing）', recovering: '回到正常范围，进入恢复中', notified: '通知 {notifier}（{status}）', acked: '已确认', resolved: '已恢复', cleared: '未告警即消除' },
    notice: { firing: '告警', resolved: '恢复' }, delivery: { pending: '待发送', sent: '已发送', skipped: '已跳过', failed: '发送失败' }, delivered: '已送达',
    // an alert's labels (the silence matchers' names) as the console names them
    label: { rule: '规则', metric: '指标', severity: '级别', channel: '渠道', region: '区域', store: '门店', campaign: '活动' },
    silenceUntil: '静默至指定时间', wouldMatch: '保存后将静默当前 {n} 条活动告警：', saveSilence: '保存静默', cancel: '取消',
  },
  ackedBy: '{who} 已确认', silenced: '已静默',
  rules: {
    title: '告警规则', rule: '告警规则', new: '新建规则', toList: '← 全部规则', notFound: '规则不存在，或你无权查看',
    enabled: '已启用', disabled: '已停用', enable: '启用', disable: '停用', firingCount: '{n} 个告警中', recoveringCount: '{n} 个恢复中', pendingCount: '{n} 个观察中', fromApi: 'API · {who}',
    readOnly: '只读：编辑规则需要管理员角色', byDefault: '默认 {value}', save: '保存规则', saved: '已保存：下一轮评估起生效', delete: '删除规则', confirmDelete: '删除规则 {id}？',
    idRequired: '请填写规则 ID', whole: '全部（不分组）', instance: '实例', any: '不限', unknownChoice: '{id}（配置中已没有）', gone: '配置中已没有',
    notifierKind: { webhook: 'Webhook', email: '邮件', slack: 'Slack', wecom: '企业微信', dingtalk: '钉钉', feishu: '飞书' },
    field: {
      id: '规则 ID', name: '名称', nameEn: '英文名称', metric: '指标', groupBy: '分组', window: '窗口（如 1m、15m）',
      filter: { region: '限定区域', channel: '限定渠道', store: '限定门店' },
      condition: '条件', bound: '阈值', for: '持续（如 5m）', minVolume: '最小量', hysteresis: '恢复回差', keepFiringFor: '恢复前保持（如 2h）', severity: '级别',
      noData: '无数据时', repeatInterval: '重复通知间隔（如 4h）', notify: '通知渠道', notifyText: '通知渠道（逗号分隔）',
    },
    condition: { below: '低于阈值', above: '高于阈值', auto: '自动（推荐）', drop: '骤降', rise: '骤升', zscore: 'z 分数', ewma: '指数加权', seasonal: '同比（按日）' },
    // the choices of the form's selects, each a value of alerts.yaml (a metric is named as the wall names it: kpi)
    option: {
      channel: '按渠道', region: '按区域', store: '按门店', campaign: '按活动',
      low: '低', medium: '中', high: '高', both: '双向', up: '只看上升', down: '只看下降',
      previous: '上一个窗口', 'day-ago': '昨日同一时段', 'week-ago': '上周同一时段',
      ok: '视为正常', alerting: '视为告警', keep: '保持原状态',
    },
    try: '用历史数据试运行', tryHint: '用已存储的数据运行这条规则（含未保存的修改），看它会在哪些时段告警、会发出多少次通知。',
    range: { '24h': '近 24 小时', '7d': '近 7 天', '30d': '近 30 天' },
    param: { sensitivity: '灵敏度', direction: '方向', vs: '对比', ratio: '变化比例', threshold: '阈值（倍标准差）', lookback: '回看窗口数', alpha: '平滑系数', days: '回看天数', minChange: '最小相对变化' },
    wouldPage: '{range}内不会通知 | {range}内会通知 1 次 | {range}内会通知 {n} 次', unjudged: '其中 {share} 的窗口之前历史不足，未作判断（数据开始之前，或自动检测学习的第一天）', stillActive: '仍在持续', recoveredAt: '（{time} 回到正常，此后为恢复中）', peak: '峰值 {value}', notifies: '会发通知', clearsBeforeFor: '未到持续时间即消除',
  },
  attribution: { subtitle: '近{days}天 · 马尔可夫', coverage: '归因覆盖线上销售额 {share}', coverageLow: '归因仅覆盖线上销售额 {share} · ROI 仅供参考', none: '近期没有可归因的订单（订单未带用户，或没有触点）' },
  segments: { updated: '{time} 更新' },
  noAlerts: '当前无告警', waitingForJob: '等待首次作业运行', forbidden: '无权查看该区域',
  roiLine: 'ROI 警戒线 1.5', mapMetric: '今日销售额', clickToDrill: '点击下钻',
  column: { name: '名称', visits: '客流', conversions: '转化', revenue: '销售额', roi: 'ROI' },
  replay: {
    badge: '回放 REPLAY', enter: '◀◀ 回放', backToLive: '回到实时', pause: '暂停', jump: '跳转到时间', loading: '正在重建该时刻…',
    asKnownNow: '按当前已知数据，含迟到事件',
  },
  why: {
    title: '为什么变化？', close: '关闭', loading: '正在分析…', nothing: '变化不大，没有突出的原因', offsetting: '整体变化不大：以下各项此消彼长', explains: '解释 {share}',
    mix: '结构', rate: '自身', section: '为什么变化',
    dims: { channel: '渠道', region: '地区', store: '门店', campaign: '活动' },
  },
  annotation: {
    add: '＋ 标注', title: '标注营销事件', text: '说明', placeholder: '如：双12预热开始', kind: '类型', startsAt: '开始时间', endsAt: '结束时间（可选）',
    onlyHere: '仅限{place}', save: '保存',
    kinds: { campaign: '活动上线', price: '价格调整', coupon: '发券', closure: '门店停业', outage: '系统故障', other: '其他' },
  },
  phone: {
    channelRevenue: '渠道销售额', pull: '下拉刷新', release: '松开立即刷新', refreshing: '正在刷新…', regions: '各区域', stores: '门店排行', viewAlerts: '本视图告警',
    traffic: '客流', sales: '销售额', open: '打开', allAlerts: '全部告警',
  },
};

type Messages = typeof zh;

const en: Messages = {
  title: 'Marketing Operations Live',
  nation: 'Nation',
  login: { title: 'Sign in', username: 'Username', password: 'Password', submit: 'Sign in', failed: 'Wrong username or password', unreachable: 'Cannot reach the server', blocked: 'Too many failed sign-ins; try again in {minutes} min' },
  logout: 'Sign out',
  range: { live: 'Live', today: 'Today', '7d': '7 days', '30d': '30 days' },
  connection: { live: 'Live', connecting: 'Connecting…', lost: 'Connection lost, reconnecting' },
  asOf: 'Data as of',
  stale: 'No update for {seconds} s',
  kpi: {
    exposure: 'Exposure', clicks: 'Clicks', conversions: 'Conversions', revenue: 'Revenue', spend: 'Spend', roi: 'ROI',
    visits: 'Foot traffic', uniqueUsers: 'Unique users', newUsers: 'New users', cvr: 'Conv. rate', ctr: 'CTR', posConversions: 'POS sales', aov: 'Avg. order', perVisitor: 'Revenue / visitor', cac: 'Acquisition cost',
  },
  vsYesterday: 'vs yesterday', vsPrevious: 'vs previous period', noCompare: 'no comparison', uniqueShort: '{n} unique', uniqueDailyAverage: '{n} unique/day',
  panel: {
    channelTrend: 'Revenue by channel', roi: 'ROI by channel', funnel: 'Funnel', map: 'Regions', storeRanking: 'Store foot traffic',
    alerts: 'Live alerts', segments: 'Segments', attribution: 'Attribution', scopeTrend: 'Live trend', trend: 'Trend',
    children: 'Drill down', storeTraffic: 'Store foot traffic', channels: 'Channels', storeCard: 'Store',
  },
  unit: { perMinute: 'per minute', perFiveMinutes: 'per 5 min', perTenSeconds: 'per 10 s' },
  store: { city: 'City', region: 'Region', revenuePerVisitor: 'Revenue / visitor', conversionRate: 'Visit → sale' },
  alertState: { pending: 'pending', firing: 'firing', recovering: 'recovering', silenced: 'silenced', resolved: 'resolved', cleared: 'cleared' },
  console: {
    title: 'Alert', toWall: '← Back to the wall', notFound: 'No such alert, or you may not see it', unreachable: 'Cannot reach the server; retrying',
    severity: { critical: 'critical', warning: 'warning', info: 'info' },
    since: 'Active since', fired: 'Fired', recovering: 'Back to normal', resolved: 'Resolved', ackedAt: 'Acknowledged',
    recoveringNote: 'The metric is back to normal; it resolves, with a resolved notice, once it stays so for {keep}. A breach meanwhile is still this alert, with no new page',
    ack: 'Acknowledge', acked: 'Acknowledged', silenceFor: 'Silence {span}', hour1: '1 h', hour4: '4 h', silenceMorning: 'Silence until 09:00 tomorrow',
    silenced: 'Silenced: no notifications meanwhile', silenceComment: 'silenced by {who} from the alert page', readOnly: 'Read only: acknowledging and silencing need the oncall or admin role',
    notifications: 'Notifications', noNotifications: 'No notification sent yet',
    anyTime: 'Any time', since1h: 'Last hour', since24h: 'Last 24 h', since7d: 'Last 7 days',
    list: 'Alerts', toList: '← All alerts', allStates: 'Every state', allSeverities: 'Every severity', everything: 'Every dimension',
    silences: 'Silences', noSilences: 'No silences', until: 'until {time}', expire: 'Expire',
    around: 'The metric around the alert', noSeries: 'No data to draw yet', episodesHere: '{n} episode(s) in this span', latestPartOnly: 'The alert has lasted too long to draw whole: only its latest part is shown, from {from} (it began {since})',
    chartValue: 'value', chartBaseline: 'baseline (what the detector expected)', chartBound: 'bound',
    timeline: 'Timeline', silencedNow: 'Silenced now: no notifications are sent',
    step: { pending: 'pending', firing: 'firing', recovering: 'back to normal: recovering', notified: 'notified {notifier} ({status})', acked: 'acknowledged', resolved: 'resolved', cleared: 'cleared before firing' },
    notice: { firing: 'firing', resolved: 'resolved' }, delivery: { pending: 'pending', sent: 'sent', skipped: 'skipped', failed: 'failed' }, delivered: 'delivered',
    label: { rule: 'Rule', metric: 'Metric', severity: 'Severity', channel: 'Channel', region: 'Region', store: 'Store', campaign: 'Campaign' },
    silenceUntil: 'Silence until…', wouldMatch: 'Saved, this silences {n} active alert(s) now:', saveSilence: 'Save silence', cancel: 'Cancel',
  },
  ackedBy: 'acked by {who}', silenced: 'silenced',
  rules: {
    title: 'Alert rules', rule: 'Alert rule', new: 'New rule', toList: '← All rules', notFound: 'No such rule, or you may not see it',
    enabled: 'enabled', disabled: 'disabled', enable: 'Enable', disable: 'Disable', firingCount: '{n} firing', recoveringCount: '{n} recovering', pendingCount: '{n} pending', fromApi: 'API · {who}',
    readOnly: 'Read only: editing rules needs the admin role', byDefault: 'default {value}', save: 'Save rule', saved: 'Saved: evaluated from the next cycle', delete: 'Delete rule', confirmDelete: 'Delete rule {id}?',
    idRequired: 'give the rule an id', whole: 'the whole business', instance: 'Instance', any: 'any', unknownChoice: '{id} (no longer configured)', gone: 'no longer configured',
    notifierKind: { webhook: 'webhook', email: 'e-mail', slack: 'Slack', wecom: 'WeCom', dingtalk: 'DingTalk', feishu: 'Feishu' },
    field: {
      id: 'Rule id', name: 'Name (Chinese)', nameEn: 'Name (English)', metric: 'Metric', groupBy: 'Group by', window: 'Window (e.g. 1m, 15m)',
      filter: { region: 'Only region', channel: 'Only channel', store: 'Only store' },
      condition: 'Condition', bound: 'Bound', for: 'For (e.g. 5m)', minVolume: 'Min. volume', hysteresis: 'Hysteresis', keepFiringFor: 'Keep open after recovery (e.g. 2h)', severity: 'Severity',
      noData: 'On no data', repeatInterval: 'Repeat every (e.g. 4h)', notify: 'Notify', notifyText: 'Notify (comma-separated)',
    },
    condition: { below: 'below a bound', above: 'above a bound', auto: 'auto (recommended)', drop: 'drop', rise: 'rise', zscore: 'z-score', ewma: 'EWMA', seasonal: 'seasonal (daily)' },
    option: {
      channel: 'by channel', region: 'by region', store: 'by store', campaign: 'by campaign',
      low: 'low', medium: 'medium', high: 'high', both: 'both ways', up: 'up only', down: 'down only',
      previous: 'the previous window', 'day-ago': 'the same time yesterday', 'week-ago': 'the same time last week',
      ok: 'count as fine', alerting: 'count as alerting', keep: 'keep the state',
    },
    try: 'Try it on history', tryHint: 'Runs this rule — unsaved changes included — over stored data: where it would have fired and how many notifications it would have sent.',
    range: { '24h': 'the last 24 h', '7d': 'the last 7 days', '30d': 'the last 30 days' },
    param: { sensitivity: 'Sensitivity', direction: 'Direction', vs: 'Compared with', ratio: 'Change ratio', threshold: 'Threshold (spreads)', lookback: 'Look-back windows', alpha: 'Smoothing', days: 'Days back', minChange: 'Least relative change' },
    wouldPage: 'Would not have paged in {range} | Would have paged once in {range} | Would have paged {n} times in {range}', unjudged: '{share} of the windows were not judged: too little history before them (before the data began, or the first day, which auto learns from)', stillActive: 'still active', recoveredAt: '(back to normal {time}, recovering after)', peak: 'peak {value}', notifies: 'notifies', clearsBeforeFor: 'clears before `for`',
  },
  attribution: { subtitle: '{days} d · Markov', coverage: 'Attribution covers {share} of online revenue', coverageLow: 'Covers only {share} of online revenue · ROI indicative', none: 'No attributable orders lately (orders without a user, or without touches)' },
  segments: { updated: '{time}' },
  noAlerts: 'No active alerts', waitingForJob: 'Waiting for the first job run', forbidden: 'You may not open that region',
  roiLine: 'ROI floor 1.5', mapMetric: 'Revenue today', clickToDrill: 'click to drill down',
  column: { name: 'Name', visits: 'Visits', conversions: 'Conv.', revenue: 'Revenue', roi: 'ROI' },
  replay: {
    badge: 'REPLAY', enter: '◀◀ Replay', backToLive: 'Back to live', pause: 'Pause', jump: 'Jump to a time', loading: 'Rebuilding that moment…',
    asKnownNow: 'as known now, late events included',
  },
  why: {
    title: 'Why did it move?', close: 'Close', loading: 'Working it out…', nothing: 'Barely moved: nothing stands out', offsetting: 'Barely moved overall: the moves below offset one another', explains: 'explains {share}',
    mix: 'mix', rate: 'rate', section: 'Why it moved',
    dims: { channel: 'Channel', region: 'Region', store: 'Store', campaign: 'Campaign' },
  },
  annotation: {
    add: '+ Note', title: 'Mark a marketing moment', text: 'What happened', placeholder: 'e.g. Double 12 warm-up starts', kind: 'Kind', startsAt: 'Starts', endsAt: 'Ends (optional)',
    onlyHere: 'Only {place}', save: 'Save',
    kinds: { campaign: 'Campaign launch', price: 'Price change', coupon: 'Coupon drop', closure: 'Store closure', outage: 'Outage', other: 'Other' },
  },
  phone: {
    channelRevenue: 'Revenue by channel', pull: 'Pull to refresh', release: 'Release to refresh', refreshing: 'Refreshing…', regions: 'Regions', stores: 'Stores by traffic', viewAlerts: 'Alerts in this view',
    traffic: 'Visitors', sales: 'Sales', open: 'Open', allAlerts: 'All alerts',
  },
};

export type Locale = 'zh' | 'en';
export const LOCALE_KEY = 'wall.locale';

export function initialLocale(): Locale {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl === 'en' || fromUrl === 'zh') return fromUrl;
  return localStorage.getItem(LOCALE_KEY) === 'en' ? 'en' : 'zh';
}

export const i18n = createI18n({ legacy: false, locale: initialLocale(), fallbackLocale: 'zh', messages: { zh, en } });
