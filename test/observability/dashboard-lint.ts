// The rules of Grafana's dashboard-linter (github.com/grafana/dashboard-linter v0.2.0, lint/rule_*.go)
// for dashboards on a Prometheus data source, as the project cannot build that tool here (it needs
// github.com/grafana/grafana/apps/dashboard, which the module proxy does not serve: README,
// Dependencies). Same rule names, same exclusion file format (`exclusions: {rule: {reason, entries:
// [{dashboard, panel, targetIdx}]}}`), with two differences: a reason is required, and an exclusion
// that matches nothing is an error too. The rule target-promql-rule (valid PromQL) is promtool's
// parser, run over every expression by the observability suite.
import { metricNames, variableSelector, withGrafanaVariables } from './promql.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument -- dashboards are untyped JSON */
type Obj = Record<string, any>;

export interface Finding {
  rule: string;
  dashboard: string;
  panel?: string;
  targetIdx?: number;
  message: string;
}

export interface Exclusion {
  reason?: string;
  entries?: { dashboard?: string; panel?: string; targetIdx?: number | string }[];
}
export type LintConfig = { exclusions?: Record<string, Exclusion> };

// lint/rule_panel_units.go's list (the units Grafana's value formats know), abridged to the ones a
// Prometheus dashboard plausibly uses; anything else fails like an unknown unit there.
export const VALID_UNITS = new Set([
  'none', 'short', 'percent', 'percentunit', 'bytes', 'decbytes', 'bits', 'kbytes', 'mbytes', 'gbytes', 'Bps', 'binBps', 'bps',
  'ns', 'µs', 'ms', 's', 'm', 'h', 'd', 'dtdurationms', 'dtdurations', 'hertz', 'cps', 'ops', 'reqps', 'rps', 'wps', 'iops',
  'cpm', 'opm', 'rpm', 'wpm', 'bool', 'bool_yes_no', 'bool_on_off', 'dateTimeAsIso', 'dateTimeFromNow', 'watt', 'celsius',
]);

const PANELS_WITH_UNITS = new Set(['stat', 'singlestat', 'graph', 'table', 'timeseries', 'gauge']);
const COUNTER_FUNCTIONS = ['rate', 'irate', 'increase'];

function panelsOf(d: Obj): Obj[] {
  const out: Obj[] = [];
  for (const p of (d.panels ?? []) as Obj[]) {
    if (p.type === 'row') out.push(...((p.panels ?? []) as Obj[]));
    else out.push(p);
  }
  return out;
}

const variables = (d: Obj): Obj[] => (d.templating?.list ?? []) as Obj[];

/** A matcher `label=~"$label"` on every selector of the expression (target-job-rule, target-instance-rule). */
function selectorsLacking(expr: string, label: string): string[] {
  const missing: string[] = [];
  const want = new RegExp(`(^|[{,\\s])${label}\\s*=~\\s*"\\$(\\{${label}\\}|${label})"`);
  for (const name of metricNames(expr)) {
    for (const m of expr.matchAll(new RegExp(`(?<![\\w:])${name}(?![\\w:])\\s*(\\{[^}]*\\})?`, 'g'))) {
      if (!m[1] || !want.test(m[1])) missing.push(m[0].trim());
    }
  }
  return missing;
}

export function lintDashboard(d: Obj): Finding[] {
  const title = String(d.title ?? '');
  const out: Finding[] = [];
  const add = (rule: string, message: string, panel?: string, targetIdx?: number) => out.push({ rule, dashboard: title, ...(panel !== undefined ? { panel } : {}), ...(targetIdx !== undefined ? { targetIdx } : {}), message });

  // template-datasource-rule
  const ds = variables(d).filter((v) => v.type === 'datasource');
  if (ds.length === 0) add('template-datasource-rule', 'does not have a templated data source');
  for (const v of ds) {
    if (v.name !== 'datasource' && v.name !== `${String(v.query).toLowerCase()}_datasource`) add('template-datasource-rule', `templated data source variable named '${v.name}', should be named 'datasource'`);
    if (v.query !== 'prometheus') add('template-datasource-rule', `templated data source is '${v.query}', not prometheus`);
  }
  // template-job-rule, template-instance-rule
  for (const name of ['job', 'instance']) {
    const v = variables(d).find((t) => t.name === name);
    const rule = `template-${name}-rule`;
    if (!v) {
      add(rule, `is missing the ${name} template`);
      continue;
    }
    if (v.datasource?.uid !== '$datasource' && v.datasource?.uid !== '${datasource}') add(rule, `${name} template should use datasource '$datasource'`);
    if (v.type !== 'query') add(rule, `${name} template should be a Prometheus query, is currently '${v.type}'`);
    if (v.label !== name[0]!.toUpperCase() + name.slice(1)) add(rule, `${name} template should be labeled '${name[0]!.toUpperCase() + name.slice(1)}'`);
    if (!v.multi) add(rule, `${name} template should be a multi select`);
    if (v.allValue !== '.+') add(rule, `${name} template allValue should be '.+'`);
  }
  for (const v of variables(d).filter((t) => t.type === 'query')) {
    // template-label-promql-rule: label_values(<selector>, <label>) (its PromQL goes to promtool)
    if (variableSelector(String(v.query)) === undefined) add('template-label-promql-rule', `template '${v.name}' query is not label_values(selector, label): ${v.query}`);
    // template-on-time-change-reload-rule
    if (v.refresh !== 2) add('template-on-time-change-reload-rule', `template '${v.name}' should reload on time range change (refresh: 2)`);
  }
  // uneditable-dashboard
  if (d.editable !== false) add('uneditable-dashboard', 'is editable, it should be set to editable=false');

  for (const p of panelsOf(d)) {
    const pt = String(p.title ?? '');
    // panel-title-description-rule
    if (!pt.trim() || !String(p.description ?? '').trim()) add('panel-title-description-rule', 'has no title or description', pt);
    // panel-datasource-rule
    if (p.datasource?.uid !== '$datasource' && p.datasource?.uid !== '${datasource}') add('panel-datasource-rule', `does not use the templated datasource (uid ${p.datasource?.uid})`, pt);
    // panel-units-rule
    if (PANELS_WITH_UNITS.has(p.type)) {
      const unit = p.fieldConfig?.defaults?.unit;
      if (!VALID_UNITS.has(unit)) add('panel-units-rule', `has no or an invalid unit '${unit}'`, pt);
    }
    const targets = (p.targets ?? []) as Obj[];
    // panel-no-targets-rule
    if (targets.length === 0) add('panel-no-targets-rule', 'has no targets', pt);
    targets.forEach((t, i) => {
      const expr = String(t.expr ?? '');
      if (t.datasource && t.datasource.uid !== '$datasource') add('panel-datasource-rule', `target ${i} does not use the templated datasource`, pt, i);
      // target-rate-interval-rule: (i)rate over $__rate_interval
      for (const m of expr.matchAll(/\b(i?rate)\s*\(([^[]*)\[([^\]]*)\]/g)) {
        if (m[3]!.trim() !== '$__rate_interval') add('target-rate-interval-rule', `invalid PromQL query '${expr}': should use $__rate_interval`, pt, i);
      }
      // target-job-rule, target-instance-rule
      for (const label of ['job', 'instance']) {
        for (const sel of selectorsLacking(expr, label)) add(`target-${label}-rule`, `invalid PromQL query '${expr}': ${sel} has no ${label}=~"$${label}" matcher`, pt, i);
      }
      // target-counter-agg-rule: a counter (…_total) only inside rate, irate or increase
      const stripped = withGrafanaVariables(expr);
      for (const name of metricNames(stripped)) {
        if (!name.endsWith('_total')) continue;
        const inside = new RegExp(`\\b(${COUNTER_FUNCTIONS.join('|')})\\s*\\(\\s*${name}\\b`);
        const uses = stripped.split(new RegExp(`\\b${name}\\b`)).length - 1;
        const wrapped = [...stripped.matchAll(new RegExp(inside.source, 'g'))].length;
        if (wrapped < uses) add('target-counter-agg-rule', `counter metric '${name}' is not aggregated with rate, irate, or increase`, pt, i);
      }
    });
  }
  return out;
}

/**
 * Applies the exclusions: returns the findings left, and the configuration's own errors (an
 * exclusion without a reason, or one that excluded nothing).
 */
export function applyExclusions(findings: Finding[], config: LintConfig): { left: Finding[]; errors: string[] } {
  const errors: string[] = [];
  const used = new Set<string>();
  const left = findings.filter((f) => {
    const ex = config.exclusions?.[f.rule];
    if (!ex) return true;
    const entries = ex.entries ?? [];
    const hit = entries.findIndex(
      (e) => (e.dashboard === undefined || e.dashboard === f.dashboard) && (e.panel === undefined || e.panel === f.panel) && (e.targetIdx === undefined || Number(e.targetIdx) === f.targetIdx),
    );
    if (entries.length > 0 && hit < 0) return true;
    used.add(`${f.rule}#${hit}`);
    return false;
  });
  for (const [rule, ex] of Object.entries(config.exclusions ?? {})) {
    if (!ex?.reason?.trim()) errors.push(`exclusion of ${rule} has no reason`);
    const entries = ex?.entries ?? [];
    if (entries.length === 0) errors.push(`exclusion of ${rule} names no entries (exclude the panels it is for, not the whole rule)`);
    entries.forEach((e, i) => {
      if (!used.has(`${rule}#${i}`)) errors.push(`exclusion of ${rule} for ${JSON.stringify(e)} excludes nothing: remove it`);
    });
  }
  return { left, errors };
}
