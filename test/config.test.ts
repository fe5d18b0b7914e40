import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { CONFIG_DIR, ConfigError, loadConfig } from '../config/load.js';
import { createAuth } from '../server/auth/auth.js';
import { parseClusterUrl, storeSettingsFromEnv } from '../stream/connect.js';
import { parseDurationMs } from '../config/duration.js';
import { durationText } from '../alerts/rule-store.js';

let dir: string;
function withEdit(file: string, edit: (text: string) => string): string {
  dir = mkdtempSync(join(tmpdir(), 'mw-config-'));
  cpSync(CONFIG_DIR, dir, { recursive: true });
  writeFileSync(join(dir, file), edit(readFileSync(join(dir, file), 'utf8')));
  return dir;
}
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('configuration', () => {
  it('loads the shipped files: 11 channels, 7 regions, at least 60 stores', () => {
    const cfg = loadConfig();
    expect(cfg.channels.map((c) => c.id)).toEqual(expect.arrayContaining(['douyin', 'wechat', 'xiaohongshu', 'baidu', 'taobao', 'jd', 'app', 'wecom', 'sms', 'email', 'store']));
    expect(cfg.regions.map((r) => r.id)).toEqual(['east', 'north', 'south', 'central', 'southwest', 'northwest', 'northeast']);
    expect(cfg.storeById.size).toBeGreaterThanOrEqual(60);
    expect(cfg.storeById.get('cd-chunxi')!.region).toBe('southwest');
    // English pages name every store's city in English
    expect([...cfg.storeById.values()].filter((s) => !s.cityEn || /[^\x20-\x7e]/.test(s.cityEn)).map((s) => s.id)).toEqual([]);
    expect(cfg.storeById.get('xa-zhonglou')!.cityEn).toBe("Xi'an");
  });

  it("a store without cityEn is named by its Chinese city on English pages too", () => {
    const cfg = loadConfig(withEdit('geo.yaml', (t) => t.replace(/cityEn: Shanghai,\s*(province: 310000, lng: 121\.448)/, '$1')));
    expect(cfg.storeById.get('sh-jingan')!.cityEn).toBe('上海');
    expect(cfg.regions[0]!.stores[0]!.cityEn).toBe('上海');
    expect(cfg.storeById.get('sh-lujiazui')!.cityEn).toBe('Shanghai');
  });

  it.each([
    ['geo.yaml', (t: string) => t.replace('lat: 31.229', 'lat: 91.229'), /geo\.yaml: regions\[0\]\.stores\[0\]\.lat: /],
    ['geo.yaml', (t: string) => t.replace('province: 310000, lng: 121.448', 'province: 110000, lng: 121.448'), /geo\.yaml: regions\[0\]\.stores\[0\]\.province: 110000 is not a province of region "east"/],
    ['channels.yaml', (t: string) => t.replace('id: jd,', 'id: jd2,'), /channels\.yaml: channels: missing the channel "jd"/],
    ['channels.yaml', (t: string) => t.replace('kind: search', 'kind: billboard'), /channels\.yaml: channels\[3\]\.kind: /],
    ['pipeline.yaml', (t: string) => t.replace('lateness: 48h', 'lateness: two days'), /pipeline\.yaml: events\.lateness: "two days" is not a duration/],
    ['pipeline.yaml', (t: string) => t.replace('ingest:', 'ingest: [\n'), /pipeline\.yaml: line \d+: YAML syntax/],
    ['users.yaml', (t: string) => t.replace('regions: [east]', 'regions: [mars]'), /users\.yaml: users\[3\]\.regions\[0\]: unknown region "mars"/],
  ])('a bad %s stops the start naming file, path and reason', (file, edit, message) => {
    const bad = withEdit(file, edit);
    expect(() => loadConfig(bad)).toThrow(ConfigError);
    expect(() => loadConfig(bad)).toThrow(message);
  });
});

describe('durations as the rule editor writes them back', () => {
  it.each([[0, '0s'], [1500, '1500ms'], [90_000, '90s'], [300_000, '5m'], [7_200_000, '2h'], [172_800_000, '2d']])('%d ms → %s, and back', (ms, text) => {
    expect(durationText(ms)).toBe(text);
    expect(parseDurationMs(text)).toBe(ms);
  });
});

describe('users from the environment (WALL_USERS)', () => {
  const hash = bcrypt.hashSync('night-shift-pass', 4);
  const env = (users: unknown) => ({ WALL_USERS: typeof users === 'string' ? users : JSON.stringify(users) });

  it('adds accounts that are not in the repository, and replaces a file user of the same name', async () => {
    const cfg = loadConfig(undefined, env([
      { username: 'night-ops', role: 'ops', passwordHash: hash },
      { username: 'manager-east', role: 'manager', regions: ['east', 'north'], passwordHash: hash },
    ]));
    expect(cfg.users.filter((u) => u.username === 'manager-east')).toEqual([{ username: 'manager-east', role: 'manager', regions: ['east', 'north'], passwordHash: hash }]);
    const auth = createAuth({ users: cfg.users, secret: 'x'.repeat(32), demoMode: false });
    expect(await auth.login('night-ops', 'night-shift-pass')).toMatchObject({ role: 'ops', regions: null });
    expect(await auth.login('manager-east', 'night-shift-pass')).toMatchObject({ role: 'manager', regions: ['east', 'north'] });
    expect(await auth.login('manager-east', 'demo')).toBeNull(); // the file's demo password no longer opens it
    expect(await auth.login('ops', 'demo')).toBeNull(); // demo users only in demo mode
  });

  it.each([
    ['{not json', /^WALL_USERS: \(top level\): not JSON: /],
    [[{ username: 'x', role: 'ops', passwordHash: 'plain-text' }], /^WALL_USERS: \[0\]\.passwordHash: must be a bcrypt hash/],
    [[{ username: 'x', role: 'manager', passwordHash: '$2b$04$abcdefghijklmnopqrstuv' }], /^WALL_USERS: \[0\]\.regions: a manager needs at least one region/],
    [[{ username: 'x', role: 'manager', regions: ['mars'], passwordHash: '$2b$04$abcdefghijklmnopqrstuv' }], /^WALL_USERS: \[0\]\.regions\[0\]: unknown region "mars"/],
    [[{ username: 'x', role: 'ops', passwordHash: '$2b$04$abcdefghijklmnopqrstuv' }, { username: 'x', role: 'ops', passwordHash: '$2b$04$abcdefghijklmnopqrstuv' }], /^WALL_USERS: \[1\]\.username: duplicate id "x"/],
  ])('names what is wrong: %s', (users, message) => {
    expect(() => loadConfig(undefined, env(users))).toThrow(ConfigError);
    expect(() => loadConfig(undefined, env(users))).toThrow(message);
  });
});

describe('pipeline settings from the environment', () => {
  it('STREAM_PARTITIONS and INGEST_REPLICAS_TO_WAIT override pipeline.yaml, and a bad value is named', () => {
    const cfg = loadConfig(undefined, { STREAM_PARTITIONS: '4', INGEST_REPLICAS_TO_WAIT: '1' });
    expect(cfg.pipeline.stream.partitions).toBe(4);
    expect(cfg.pipeline.ingest.replicasToWait).toBe(1);
    expect(loadConfig(undefined, {}).pipeline.stream.partitions).toBe(1);
    expect(() => loadConfig(undefined, { STREAM_PARTITIONS: '0' })).toThrow(/^environment: STREAM_PARTITIONS: must be a whole number from 1 to 64, not "0"/);
    expect(() => loadConfig(undefined, { STREAM_PARTITIONS: '2.5' })).toThrow(/STREAM_PARTITIONS: must be a whole number/);
    expect(() => loadConfig(undefined, { INGEST_REPLICAS_TO_WAIT: 'one' })).toThrow(/^environment: INGEST_REPLICAS_TO_WAIT: must be a whole number from 0 to 5, not "one"/);
  });

  it('reads a cluster from REDIS_CLUSTER_NODES or a redis-cluster:// URL, and names a bad node', () => {
    expect(storeSettingsFromEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001' }).redisUrl).toBe('redis-cluster://10.0.0.1:7000,10.0.0.2:7001');
    expect(parseClusterUrl('redis-cluster://app:s%40cret@10.0.0.1:7000,[::1]:7001')).toEqual({
      nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }], username: 'app', password: 's@cret',
    });
    expect(() => parseClusterUrl('redis-cluster://10.0.0.1')).toThrow('REDIS_URL: "10.0.0.1" is not host:port');
  });
});
