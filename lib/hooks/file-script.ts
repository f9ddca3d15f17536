/**
 * `file:` CallHooks: a local JSON file instead of an HTTP application (SPEC §2, §3).
 *
 * The file is either a CallScript (a JSON array of verbs) or a rule set for office-hours style routing:
 *
 *   { "rules": [
 *       { "when": { "timezone": "Europe/London", "weekdays": ["mon","tue","wed","thu","fri"],
 *                   "between": ["09:00", "17:30"] },
 *         "script": [ ... ] },
 *       { "script": [ ... ] } ] }
 *
 * The first rule whose every condition holds is used (a rule without `when` always holds); no rule → the hook
 * fails (DPBX_ERR_HOOK_TEMPLATE), which the call engine treats like any failed hook (fallback).
 *
 * Conditions: `timezone` (IANA name, default UTC) applies to `weekdays` (mon..sun), `between` ([start, end) as
 * HH:MM; end < start wraps past midnight) and `dates` (YYYY-MM-DD list, e.g. holidays); `count` (a number or a
 * list: the CallHook retry count); `from` / `to` (dialplan-style patterns: `?` one character, `*` any run).
 *
 * Strings anywhere in the chosen value may use placeholders: {{from}} {{to}} {{domain}} {{count}} {{callId}}
 * {{source}}, and clock helpers {{time:TZ}} (HH:MM), {{hour:TZ}}, {{weekday:TZ}} (mon..sun), {{date:TZ}}
 * (YYYY-MM-DD) where TZ is an IANA timezone (omit `:TZ` for UTC). A string that is exactly one placeholder with a
 * numeric value (e.g. "{{count}}") becomes a number. An unknown placeholder is an error, not an empty string.
 */
import { HookError } from './errors.js';

export interface TemplateContext {
  from?: string;
  to?: string;
  domain?: string;
  count?: number;
  callId?: string;
  source?: string;
  now: Date;
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

interface ZonedTime {
  date: string;
  hour: number;
  minute: number;
  weekday: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function zoned(now: Date, timeZone: string): ZonedTime {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        weekday: 'short',
      });
    } catch {
      throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `unknown timezone "${timeZone}"`);
    }
    formatters.set(timeZone, fmt);
  }
  const parts: Record<string, string> = {};
  for (const p of fmt.formatToParts(now)) parts[p.type] = p.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    weekday: (parts.weekday ?? '').slice(0, 3).toLowerCase(),
  };
}

const pad2 = (n: number) => (n < 10 ? '0' : '') + n;

function placeholderValue(expr: string, ctx: TemplateContext): string | number {
  const colon = expr.indexOf(':');
  const name = colon < 0 ? expr : expr.slice(0, colon);
  const arg = colon < 0 ? 'UTC' : expr.slice(colon + 1);
  switch (name) {
    case 'from':
    case 'to':
    case 'domain':
    case 'callId':
    case 'source':
      if (colon >= 0) break;
      return ctx[name] ?? '';
    case 'count':
      if (colon >= 0) break;
      return ctx.count ?? 0;
    case 'time': {
      const z = zoned(ctx.now, arg);
      return `${pad2(z.hour)}:${pad2(z.minute)}`;
    }
    case 'hour':
      return zoned(ctx.now, arg).hour;
    case 'weekday':
      return zoned(ctx.now, arg).weekday;
    case 'date':
      return zoned(ctx.now, arg).date;
  }
  throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `unknown placeholder {{${expr}}}`);
}

function renderString(s: string, ctx: TemplateContext): string | number {
  if (!s.includes('{{')) return s;
  const whole = /^\{\{\s*([^{}]+?)\s*\}\}$/.exec(s);
  if (whole) return placeholderValue(whole[1]!, ctx);
  return s.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_m, expr: string) => String(placeholderValue(expr, ctx)));
}

/** Replace placeholders in every string of a JSON value (a new value is returned; the input is not touched). */
export function renderTemplate(value: unknown, ctx: TemplateContext, depth = 0): unknown {
  if (depth > 64) throw new HookError('DPBX_ERR_HOOK_TEMPLATE', 'script nested too deeply');
  if (typeof value === 'string') return renderString(value, ctx);
  if (Array.isArray(value)) return value.map((v) => renderTemplate(v, ctx, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = renderTemplate(v, ctx, depth + 1);
    return out;
  }
  return value;
}

/** Dialplan-style wildcard match: `?` exactly one character, `*` zero or more. */
export function wildcardMatch(pattern: string, value: string): boolean {
  // Iterative matcher with single backtrack point: linear-ish, no regex built from user input.
  let p = 0;
  let v = 0;
  let starP = -1;
  let starV = 0;
  while (v < value.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === value[v])) {
      p++;
      v++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starV = v;
    } else if (starP >= 0) {
      p = starP + 1;
      v = ++starV;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

function parseHHMM(s: unknown, path: string): number {
  const m = typeof s === 'string' ? /^(\d{1,2}):(\d{2})$/.exec(s) : null;
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59) {
    throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}: expected "HH:MM"`);
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

function asStringList(v: unknown, path: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (!list.every((x) => typeof x === 'string')) {
    throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}: expected a string or a list of strings`);
  }
  return list as string[];
}

function conditionHolds(when: Record<string, unknown>, ctx: TemplateContext, path: string): boolean {
  const tz = when.timezone === undefined ? 'UTC' : when.timezone;
  if (typeof tz !== 'string') throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.timezone: expected a string`);
  const known = new Set(['timezone', 'weekdays', 'between', 'dates', 'count', 'from', 'to']);
  for (const key of Object.keys(when)) {
    if (!known.has(key)) throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.${key}: unknown condition`);
  }
  const z = when.weekdays !== undefined || when.between !== undefined || when.dates !== undefined
    ? zoned(ctx.now, tz)
    : undefined;
  if (when.weekdays !== undefined) {
    const days = asStringList(when.weekdays, `${path}.weekdays`).map((d) => d.slice(0, 3).toLowerCase());
    for (const d of days) {
      if (!(WEEKDAYS as readonly string[]).includes(d)) {
        throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.weekdays: unknown day "${d}"`);
      }
    }
    if (!days.includes(z!.weekday)) return false;
  }
  if (when.between !== undefined) {
    if (!Array.isArray(when.between) || when.between.length !== 2) {
      throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.between: expected ["HH:MM", "HH:MM"]`);
    }
    const start = parseHHMM(when.between[0], `${path}.between[0]`);
    const end = parseHHMM(when.between[1], `${path}.between[1]`);
    const t = z!.hour * 60 + z!.minute;
    const inside = start <= end ? t >= start && t < end : t >= start || t < end;
    if (!inside) return false;
  }
  if (when.dates !== undefined && !asStringList(when.dates, `${path}.dates`).includes(z!.date)) return false;
  if (when.count !== undefined) {
    const counts = Array.isArray(when.count) ? when.count : [when.count];
    if (!counts.every((c) => typeof c === 'number')) {
      throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.count: expected a number or a list of numbers`);
    }
    if (!counts.includes(ctx.count ?? 0)) return false;
  }
  for (const key of ['from', 'to'] as const) {
    if (when[key] === undefined) continue;
    const patterns = asStringList(when[key], `${path}.${key}`);
    if (!patterns.some((p) => wildcardMatch(p, ctx[key] ?? ''))) return false;
  }
  return true;
}

/**
 * Turn the parsed content of a `file:` CallHook into the reply an HTTP CallHook would have given: the chosen
 * script with placeholders rendered.
 */
export function evaluateFileScript(content: unknown, ctx: TemplateContext): unknown {
  if (Array.isArray(content)) return renderTemplate(content, ctx);
  if (content !== null && typeof content === 'object' && Array.isArray((content as { rules?: unknown }).rules)) {
    const rules = (content as { rules: unknown[] }).rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      const path = `rules[${i}]`;
      if (rule === null || typeof rule !== 'object' || !('script' in rule)) {
        throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}: expected {when?, script}`);
      }
      const when = (rule as { when?: unknown }).when;
      if (when !== undefined && (when === null || typeof when !== 'object' || Array.isArray(when))) {
        throw new HookError('DPBX_ERR_HOOK_TEMPLATE', `${path}.when: expected an object`);
      }
      if (when === undefined || conditionHolds(when as Record<string, unknown>, ctx, `${path}.when`)) {
        return renderTemplate((rule as { script: unknown }).script, ctx);
      }
    }
    throw new HookError('DPBX_ERR_HOOK_TEMPLATE', 'no rule matched and there is no default rule');
  }
  // Any other JSON value (e.g. a RegHook reply kept in a file) is rendered and returned as is.
  return renderTemplate(content, ctx);
}
