// Just enough PromQL for the observability checks: the metric names an expression selects, and the
// expression with Grafana's variables put in (so promtool can parse it). Validity itself is left to
// promtool's parser (`promtool check rules` over the expressions); this never judges syntax.

/** PromQL keywords and operators that look like identifiers. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

/** Grafana's range variables, replaced by a duration promtool accepts. */
export function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m');
}

/** The label_values(selector, label) of a query variable: its selector, or the label query's metric. */
export function variableSelector(query: string): string | undefined {
  const m = /^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/s.exec(query.trim());
  return m ? m[1] : undefined;
}

/**
 * Metric names an expression selects: identifiers outside strings, label matchers, ranges and
 * grouping lists, not followed by "(" (functions, aggregations) and not keywords.
 */
export function metricNames(expr: string): Set<string> {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // grouping label lists
  s = s.replace(/#[^\n]*/g, ' '); // comments
  const out = new Set<string>();
  for (const m of s.matchAll(/(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    out.add(name!);
  }
  return out;
}

/** For each selector with matchers, the metric name and the label names its matchers use. */
export function matchedLabels(expr: string): [string, Set<string>][] {
  const out: [string, Set<string>][] = [];
  for (const m of expr.matchAll(/(?<![\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
    const body = m[2]!.replace(/"(?:[^"\\]|\\.)*"/g, '""');
    out.push([m[1]!, new Set([...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]!))]);
  }
  return out;
}
