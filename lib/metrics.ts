/**
 * Prometheus metrics (text exposition format 0.0.4) for GET /metrics.
 *
 * Layers keep plain counter objects (cheap `counters.x++` on hot paths); the registry reads them only when
 * scraped, through collectors registered at wiring time.
 */

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

export type Collector = () => MetricFamily[];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class MetricsRegistry {
  private readonly collectors: Collector[] = [];

  register(collector: Collector): void {
    this.collectors.push(collector);
  }

  /**
   * Helper for the common case: every numeric field of a counters object becomes
   * `<prefix>_<field in snake_case>_total` (counters) under one family each.
   */
  registerCounters(prefix: string, help: string, read: () => Record<string, number>, labels?: Record<string, string>): void {
    this.register(() =>
      Object.entries(read()).map(([field, value]) => ({
        name: `${prefix}_${field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}_total`,
        help: `${help}: ${field}`,
        type: 'counter' as const,
        samples: [labels ? { labels, value } : { value }],
      })),
    );
  }

  /** The exposition text. Families with the same name from several collectors are merged. */
  render(): string {
    const families = new Map<string, MetricFamily>();
    for (const c of this.collectors) {
      let list: MetricFamily[];
      try {
        list = c();
      } catch {
        continue; // a broken collector must not break the scrape
      }
      for (const f of list) {
        if (!NAME.test(f.name)) continue;
        const existing = families.get(f.name);
        if (existing) existing.samples.push(...f.samples);
        else families.set(f.name, { ...f, samples: [...f.samples] });
      }
    }
    const out: string[] = [];
    for (const f of families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      for (const s of f.samples) {
        const labels = s.labels
          ? Object.entries(s.labels)
              .filter(([k]) => LABEL.test(k))
              .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
              .join(',')
          : '';
        out.push(`${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}
