import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import cron from 'node-cron';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { alertsFileSchema, notifiersFileSchema, type AlertsFile, type NotifierSpec } from './alert-schema.js';
import {
  channelsFileSchema,
  geoFileSchema,
  jobsFileSchema,
  pipelineFileSchema,
  usersFileSchema,
  type ChannelsFile,
  type GeoFile,
  type JobsFile,
  type PipelineFile,
  type UsersFile,
} from './schema.js';
import { projectPath } from './project-root.js';

export const CONFIG_DIR = projectPath('config/');

export type Channel = ChannelsFile['channels'][number];
export type Region = GeoFile['regions'][number];
export type Store = Region['stores'][number] & { region: string };
export type Pipeline = PipelineFile;
export type User = UsersFile['users'][number];

export interface AppConfig {
  dir: string;
  channels: Channel[];
  channelById: Map<string, Channel>;
  regions: Region[];
  regionById: Map<string, Region>;
  storeById: Map<string, Store>;
  pipeline: Pipeline;
  users: User[];
  /** utcOffset of pipeline.windows in ms, e.g. +08:00 → 28 800 000 */
  dayOffsetMs: number;
  alerts: AlertsFile;
  notifiers: NotifierSpec[];
  jobs: JobsFile;
}

export const REQUIRED_CHANNELS = ['douyin', 'wechat', 'xiaohongshu', 'baidu', 'taobao', 'jd', 'app', 'wecom', 'sms', 'email', 'store'];

/** A configuration problem, naming the file, the path inside it and the reason. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly reason: string,
    /** the reason in Chinese, where the console may show it (a rule's checks) */
    readonly reasonZh?: string,
  ) {
    super(`${file}: ${path || '(top level)'}: ${reason}`);
    this.name = 'ConfigError';
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`)).join('');
}

function readYaml<S extends z.ZodType>(dir: string, name: string, schema: S): z.output<S> {
  const file = join(dir, name);
  const shown = relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(shown, '', `cannot read: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const first = doc.errors[0]!;
    throw new ConfigError(shown, `line ${first.linePos?.[0]?.line ?? '?'}`, `YAML syntax: ${first.message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(shown, formatPath(issue.path), issue.message);
  }
  return parsed.data;
}

function assertUnique(file: string, items: Array<{ id: string }>, pathOf: (i: number) => string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id)) throw new ConfigError(file, pathOf(i), `duplicate id "${item.id}"`);
    seen.add(item.id);
  });
}

/** "+08:00" → 28 800 000 */
export function offsetMs(utcOffset: string): number {
  const sign = utcOffset.startsWith('-') ? -1 : 1;
  const [h, m] = utcOffset.slice(1).split(':').map(Number);
  return sign * (h! * 60 + m!) * 60_000;
}

/**
 * Users given in the environment (WALL_USERS: a JSON array of users.yaml entries — bcrypt hashes,
 * never passwords), so real accounts need not be in the repository; they replace users.yaml's
 * entries of the same name.
 */
function usersFromEnv(text: string | undefined): UsersFile['users'] {
  if (!text?.trim()) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('WALL_USERS', '', `not JSON: ${(err as Error).message}`);
  }
  const parsed = usersFileSchema.safeParse({ users: value });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError('WALL_USERS', formatPath(issue.path.slice(1)), issue.message);
  }
  return parsed.data.users;
}

/** A pipeline setting an environment variable overrides (every process of a deployment must agree on it). */
function wholeNumberFromEnv(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError('environment', name, `must be a whole number from ${min} to ${max}, not "${text}"`);
  return value;
}

/** Loads and validates every YAML file of config/ (and WALL_USERS); throws ConfigError on the first problem. */
export function loadConfig(dir: string = process.env.CONFIG_DIR ?? CONFIG_DIR, env: NodeJS.ProcessEnv = process.env): AppConfig {
  const { channels } = readYaml(dir, 'channels.yaml', channelsFileSchema);
  assertUnique('channels.yaml', channels, (i) => `channels[${i}].id`);
  for (const required of REQUIRED_CHANNELS) {
    if (!channels.some((c) => c.id === required)) throw new ConfigError('channels.yaml', 'channels', `missing the channel "${required}"`);
  }

  const { regions } = readYaml(dir, 'geo.yaml', geoFileSchema);
  assertUnique('geo.yaml', regions, (i) => `regions[${i}].id`);
  const storeById = new Map<string, Store>();
  regions.forEach((region, r) => {
    const adcodes = new Set(region.provinces.map((p) => p.adcode));
    region.stores.forEach((store, s) => {
      const path = `regions[${r}].stores[${s}]`;
      if (storeById.has(store.id)) throw new ConfigError('geo.yaml', `${path}.id`, `duplicate store id "${store.id}"`);
      if (!adcodes.has(store.province)) {
        throw new ConfigError('geo.yaml', `${path}.province`, `${store.province} is not a province of region "${region.id}"`);
      }
      storeById.set(store.id, { ...store, region: region.id });
    });
  });

  const pipeline = readYaml(dir, 'pipeline.yaml', pipelineFileSchema);
  const partitions = wholeNumberFromEnv(env, 'STREAM_PARTITIONS', 1, 64);
  if (partitions !== undefined) pipeline.stream.partitions = partitions;
  const replicasToWait = wholeNumberFromEnv(env, 'INGEST_REPLICAS_TO_WAIT', 0, 5);
  if (replicasToWait !== undefined) pipeline.ingest.replicasToWait = replicasToWait;
  const fileUsers = readYaml(dir, 'users.yaml', usersFileSchema).users;
  const envUsers = usersFromEnv(env.WALL_USERS);
  assertUnique('WALL_USERS', envUsers.map((u) => ({ id: u.username })), (i) => `[${i}].username`);
  const regionIds = new Set<string>(regions.map((r) => r.id));
  const checkUsers = (source: string, list: UsersFile['users'], at: (i: number) => string) => list.forEach((user, i) => {
    if (user.role === 'manager' && !user.regions?.length) throw new ConfigError(source, `${at(i)}.regions`, 'a manager needs at least one region');
    user.regions?.forEach((region, j) => {
      if (!regionIds.has(region)) throw new ConfigError(source, `${at(i)}.regions[${j}]`, `unknown region "${region}"`);
    });
  });
  checkUsers('users.yaml', fileUsers, (i) => `users[${i}]`);
  checkUsers('WALL_USERS', envUsers, (i) => `[${i}]`);
  const envNames = new Set(envUsers.map((u) => u.username));
  const users = [...fileUsers.filter((u) => !envNames.has(u.username)), ...envUsers];

  const notifiers = readYaml(dir, 'notifiers.yaml', notifiersFileSchema).notifiers;
  assertUnique('notifiers.yaml', notifiers, (i) => `notifiers[${i}].id`);
  const alerts = readYaml(dir, 'alerts.yaml', alertsFileSchema);
  assertUnique('alerts.yaml', alerts.rules, (i) => `rules[${i}].id`);
  const known = { channels: new Set(channels.map((c) => c.id)), regions: regionIds, stores: storeById, notifiers: new Set(notifiers.map((n) => n.id)) };
  alerts.rules.forEach((rule, i) => checkRule(rule, `rules[${i}]`, known, pipeline.windows.hotRetention));
  const jobs = readYaml(dir, 'jobs.yaml', jobsFileSchema);
  for (const [name, job] of Object.entries(jobs.jobs)) {
    if (!cron.validate(job.schedule)) throw new ConfigError('jobs.yaml', `jobs.${name}.schedule`, `"${job.schedule}" is not a cron expression`);
  }

  return {
    dir,
    channels,
    channelById: new Map(channels.map((c) => [c.id, c])),
    regions,
    regionById: new Map(regions.map((r) => [r.id, r])),
    storeById,
    pipeline,
    users,
    dayOffsetMs: offsetMs(pipeline.windows.utcOffset),
    alerts,
    notifiers,
    jobs,
  };
}

interface KnownIds {
  channels: Set<string>;
  regions: Set<string>;
  stores: Map<string, Store>;
  notifiers: Set<string>;
}

/** What the schema cannot see alone: ids that must exist, and scopes the live windows keep. */
export function checkRule(rule: AlertsFile['rules'][number], path: string, known: KnownIds, hotRetentionMs: number): void {
  const fail = (at: string, reason: string, zh: string): never => {
    throw new ConfigError('alerts.yaml', `${path}.${at}`, reason, zh);
  };
  const { region, store, channel } = rule.filter ?? {};
  if (region !== undefined && !known.regions.has(region)) fail('filter.region', `unknown region "${region}"`, `没有区域 "${region}"`);
  if (channel !== undefined && !known.channels.has(channel)) fail('filter.channel', `unknown channel "${channel}"`, `没有渠道 "${channel}"`);
  if (store !== undefined) {
    const found = known.stores.get(store) ?? fail('filter.store', `unknown store "${store}"`, `没有门店 "${store}"`);
    if (region !== undefined && found.region !== region) fail('filter.store', `store "${store}" is not in region "${region}"`, `门店 "${store}" 不在区域 "${region}"`);
  }
  // the live windows keep all, channel, region, region×channel, store, store×channel and campaign
  const kept =
    rule.groupBy === 'campaign' ? !rule.filter || Object.values(rule.filter).every((v) => v === undefined)
    : rule.groupBy === 'region' ? store === undefined
    : rule.groupBy === 'channel' ? !(region !== undefined && store !== undefined)
    : true;
  if (!kept) fail('filter', `grouping by ${rule.groupBy} with this filter is not a scope the live windows keep`, `按 ${rule.groupBy} 分组加这个筛选，实时窗口不保留这种范围`);
  if (rule.window > hotRetentionMs) fail('window', `at most the hot retention of pipeline.yaml (${hotRetentionMs / 3_600_000} h)`, `最长为 pipeline.yaml 的热数据保留时长（${hotRetentionMs / 3_600_000} 小时）`);
  rule.notify.forEach((target, j) => {
    if (!known.notifiers.has(target)) fail(`notify[${j}]`, `no notifier "${target}" in notifiers.yaml`, `notifiers.yaml 中没有通知渠道 "${target}"`);
  });
}
