// The query API with the session's token; a 401 signs the display out.
import type { MetricPoint, MetricsResponse, PointField } from '../stream/types.js';
import { i18n } from './i18n.js';
import { useSessionStore } from './stores/session.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export const apiGet = <T>(path: string): Promise<T> => request<T>('GET', path);

/** POST/PUT/PATCH/DELETE with an optional JSON body; same errors as apiGet. */
export const apiSend = <T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> => request<T>(method, path, body);

/** A call with the session's token: the answer's JSON, or an ApiError with its message; a 401 signs the display out. */
async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = useSessionStore();
  // the server tells a rule's errors in the console's language
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, 'accept-language': i18n.global.locale.value === 'zh' ? 'zh-CN' : 'en' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = response.status === 204 ? {} : await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (response.status === 401) session.logout();
  if (!response.ok) throw new ApiError(response.status, (answer as { error?: string }).error ?? `HTTP ${response.status}`);
  return answer as T;
}

export function getMetrics(params: Record<string, string | number | undefined>): Promise<MetricsResponse> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, String(value));
  return apiGet<MetricsResponse>(`/api/v1/metrics?${query}`);
}

/** getMetrics answering only `fields`: each point its time and those. */
export function getMetricFields<F extends PointField>(params: Record<string, string | number | undefined>, fields: readonly F[]): Promise<MetricsResponse<Pick<MetricPoint, 't' | F>>> {
  return getMetrics({ ...params, fields: fields.join(',') }) as Promise<MetricsResponse<Pick<MetricPoint, 't' | F>>>;
}
