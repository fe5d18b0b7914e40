// Parsing a body whose first problem the on-call console shows at its field, in the console's
// language: zod's own messages from its zh-CN locale, ours from the Chinese they carry in
// `params.zh` (a custom issue's or a refine's).
import { z } from 'zod';

/** the language an error is told in: the console's (Accept-Language), else English */
export type ErrorLanguage = 'en' | 'zh';

const zhIssues = z.locales.zhCN().localeError;

export type LocalizedParse<T> = { success: true; data: T } | { success: false; error: string };

/** The parse, or its first problem as "field: reason" (`whole` names a problem of the whole body). */
export function parseIn<S extends z.ZodType>(schema: S, input: unknown, language: ErrorLanguage, whole: string): LocalizedParse<z.output<S>> {
  const parsed = language === 'zh' ? schema.safeParse(input, { error: zhIssues }) : schema.safeParse(input);
  if (parsed.success) return { success: true, data: parsed.data };
  const issue = parsed.error.issues[0]!;
  // zod's own messages are in the locale's words already
  const zh = language === 'zh' && issue.code === 'custom' ? (issue.params as { zh?: string } | undefined)?.zh : undefined;
  return { success: false, error: `${issue.path.join('.') || whole}: ${zh ?? issue.message}` };
}
