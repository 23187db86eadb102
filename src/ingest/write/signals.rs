//! What the flush writes for each signal: entities, their services and
//! keys, log templates and span-name patterns.

use ahash::AHashMap as Map;

use super::time::{TimeText, seen_params, seen_text};
use super::{KeyRow, Writer, estimate_of, sorted, sorted_keys};
use crate::ffi::{Param, Result};
use crate::ingest::batch::{
    Batch, MetricAgg, PatternGroup, ScopeCounts, ScopeTable, entity_events, entity_keys,
};
use crate::ingest::keys::{KeyAgg, Keys};
use crate::ingest::templates::Texts;

impl Writer {
    /// Each entity's row and services first, then all its key rows (in
    /// chunks), its per-service key rows, then each metric's series
    /// refresh. The entity's keys are the union of its services'
    /// (`entity_keys`). Key rows carry their estimated cardinality (no
    /// refresh of the entity's keys: the views derive percentages).
    pub(super) fn metrics(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        let mut svc_rows = Vec::new();
        let mut svc_at = Map::new();
        let unions: Vec<_> = sorted(&b.metrics)
            .into_iter()
            .map(|(name, m)| {
                let labels = entity_keys(&m.svc, |s| &s.labels);
                let resource = entity_keys(&m.svc, |s| &s.resource);
                (name, labels, resource)
            })
            .collect();
        for (name, m) in sorted(&b.metrics) {
            let seen = seen_text(&m.total.seen);
            let [first, last] = seen_params(&seen);
            let sketch = m.series.image();
            let row = [
                ("name", Param::Text(name)),
                ("type", Param::Text(m.kind.as_str())),
                ("unit", Param::Text(&m.unit)),
                ("description", Param::Text(&m.description)),
                ("total_sample_count", Param::Int(m.total.count as i64)),
                ("series_sketch", Param::Blob(&sketch)),
                ("first_seen", first),
                ("last_seen", last),
                ("bytes", Param::Int(m.total.bytes as i64)),
            ];
            let shape = shape_params(m);
            let row: Vec<_> = row.into_iter().chain(shape).collect();
            self.run("metric", &row, &[name])?;
            self.services("metric_service", "metric_name", name, &m.services)?;
            let scopes = m.svc.iter().map(|(svc, k)| (svc, &k.scopes));
            self.scopes("metric_scope", "metric_name", name, scopes, &b.scopes)?;
            for (svc, (kind, temporality, monotonic)) in sorted(&m.service_shapes) {
                let row = [
                    ("metric_name", Param::Text(name)),
                    ("service_name", Param::Text(svc)),
                    ("type", Param::Text(kind.as_str())),
                    ("temporality", Param::Text(temporality.as_str())),
                    ("is_monotonic", Param::Int(i64::from(*monotonic))),
                ];
                self.run("metric_service_shape", &row, &[name, svc])?;
            }
        }
        for (name, m) in sorted(&b.metrics) {
            for (svc, k) in m.svc.iter() {
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [name, svc, "label"],
                    None,
                    &k.labels,
                )?;
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [name, svc, "resource"],
                    None,
                    &k.resource,
                )?;
            }
        }
        for (name, labels, resource) in &unions {
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                name,
                "label",
                None,
                labels.get(),
            )?;
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                name,
                "resource",
                None,
                resource.get(),
            )?;
        }
        for (name, labels, resource) in &unions {
            self.key_patterns("metric", name, "label", "", labels.get())?;
            self.key_patterns("metric", name, "resource", "", resource.get())?;
        }
        self.entity_key_rows("metrics", "metric_key", &rows)?;
        self.key_history("metrics", &rows)?;
        self.key_rows("metric_service_key", &svc_rows)?;
        for (name, _) in sorted(&b.metrics) {
            self.refresh("metric_series_refresh", "name", name)?;
        }
        Ok(())
    }

    pub(super) fn spans(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        let mut svc_rows = Vec::new();
        let mut svc_at = Map::new();
        let unions: Vec<_> = sorted(&b.spans)
            .into_iter()
            .map(|(name, s)| {
                let events = entity_events(&s.svc);
                let attrs = entity_keys(&s.svc, |s| &s.attrs);
                let resource = entity_keys(&s.svc, |s| &s.resource);
                let links = entity_keys(&s.svc, |s| &s.links);
                (name, events, attrs, resource, links)
            })
            .collect();
        for ((name, s), (_, events, ..)) in sorted(&b.spans).into_iter().zip(&unions) {
            let seen = seen_text(&s.total.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                ("name", Param::Text(name)),
                ("kind", Param::Text(s.kind.as_str())),
                ("total_sample_count", Param::Int(s.total.count as i64)),
                ("event_count", Param::Int(s.events_total as i64)),
                ("link_count", Param::Int(s.links_total as i64)),
                ("first_seen", first),
                ("last_seen", last),
                ("status_unset_count", Param::Int(s.status[0] as i64)),
                ("status_ok_count", Param::Int(s.status[1] as i64)),
                ("status_error_count", Param::Int(s.status[2] as i64)),
                ("bytes", Param::Int(s.total.bytes as i64)),
                ("dropped_attributes_count", Param::Int(s.dropped[0] as i64)),
                ("dropped_events_count", Param::Int(s.dropped[1] as i64)),
                ("dropped_links_count", Param::Int(s.dropped[2] as i64)),
            ];
            self.run("span", &row, &[name])?;
            self.services("span_service", "span_name", name, &s.services)?;
            let scopes = s.svc.iter().map(|(svc, k)| (svc, &k.scopes));
            self.scopes("span_scope", "span_name", name, scopes, &b.scopes)?;
            let links: Map<&str, u64> = s
                .svc
                .iter()
                .map(|(svc, k)| (svc.as_str(), k.links_total))
                .collect();
            for (svc, st) in sorted(&s.service_status) {
                let row = [
                    ("span_name", Param::Text(name)),
                    ("service_name", Param::Text(svc)),
                    ("status_unset_count", Param::Int(st[0] as i64)),
                    ("status_ok_count", Param::Int(st[1] as i64)),
                    ("status_error_count", Param::Int(st[2] as i64)),
                    (
                        "link_count",
                        Param::Int(links.get(svc.as_str()).copied().unwrap_or(0) as i64),
                    ),
                ];
                self.run("span_service_status", &row, &[name, svc])?;
            }
            for (ev, total, _) in events {
                let seen = seen_text(&total.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("span_name", Param::Text(name)),
                    ("event_name", Param::Text(ev)),
                    ("event_count", Param::Int(total.count as i64)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                self.run("span_event", &row, &[name, ev])?;
            }
            for (svc, k) in s.svc.iter() {
                for (ev, e) in sorted(&k.events) {
                    let seen = seen_text(&e.total.seen);
                    let [first, last] = seen_params(&seen);
                    let row = [
                        ("span_name", Param::Text(name)),
                        ("service_name", Param::Text(svc)),
                        ("event_name", Param::Text(ev)),
                        ("event_count", Param::Int(e.total.count as i64)),
                        ("first_seen", first),
                        ("last_seen", last),
                    ];
                    self.run("span_service_event", &row, &[name, svc, ev])?;
                    push_service_keys(
                        &mut svc_rows,
                        &mut svc_at,
                        [name, svc, "event"],
                        Some(ev),
                        &e.keys,
                    )?;
                }
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [name, svc, "attribute"],
                    Some(""),
                    &k.attrs,
                )?;
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [name, svc, "resource"],
                    Some(""),
                    &k.resource,
                )?;
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [name, svc, "link"],
                    Some(""),
                    &k.links,
                )?;
            }
        }
        for (name, events, attrs, resource, links) in &unions {
            for (ev, _, keys) in events {
                push_keys(
                    &mut rows,
                    &svc_rows,
                    &svc_at,
                    name,
                    "event",
                    Some(ev),
                    keys.get(),
                )?;
            }
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                name,
                "attribute",
                Some(""),
                attrs.get(),
            )?;
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                name,
                "resource",
                Some(""),
                resource.get(),
            )?;
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                name,
                "link",
                Some(""),
                links.get(),
            )?;
        }
        for (name, events, attrs, resource, links) in &unions {
            for (ev, _, keys) in events {
                self.key_patterns("span", name, "event", ev, keys.get())?;
            }
            self.key_patterns("span", name, "attribute", "", attrs.get())?;
            self.key_patterns("span", name, "resource", "", resource.get())?;
            self.key_patterns("span", name, "link", "", links.get())?;
        }
        self.entity_key_rows("spans", "span_key", &rows)?;
        self.key_history("spans", &rows)?;
        self.key_rows("span_service_key", &svc_rows)
    }

    pub(super) fn logs(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        let mut svc_rows = Vec::new();
        let mut svc_at = Map::new();
        let unions: Vec<_> = sorted(&b.logs)
            .into_iter()
            .map(|(sev, l)| {
                let attrs = entity_keys(&l.svc, |s| &s.attrs);
                let resource = entity_keys(&l.svc, |s| &s.resource);
                (sev, attrs, resource)
            })
            .collect();
        for (sev, l) in sorted(&b.logs) {
            let seen = seen_text(&l.total.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                ("severity", Param::Text(sev)),
                ("total_sample_count", Param::Int(l.total.count as i64)),
                ("first_seen", first),
                ("last_seen", last),
                ("bytes", Param::Int(l.total.bytes as i64)),
                (
                    "dropped_attributes_count",
                    Param::Int(l.dropped_attributes as i64),
                ),
                ("trace_id_count", Param::Int(l.trace_context[0] as i64)),
                ("span_id_count", Param::Int(l.trace_context[1] as i64)),
            ];
            self.run("log", &row, &[sev])?;
            self.services("log_service", "severity", sev, &l.services)?;
            let scopes = l.svc.iter().map(|(svc, k)| (svc, &k.scopes));
            self.scopes("log_scope", "severity", sev, scopes, &b.scopes)?;
            for (svc, tc) in sorted(&l.service_trace_context) {
                if tc[0] == 0 && tc[1] == 0 {
                    continue;
                }
                let row = [
                    ("severity", Param::Text(sev)),
                    ("service_name", Param::Text(svc)),
                    ("trace_id_count", Param::Int(tc[0] as i64)),
                    ("span_id_count", Param::Int(tc[1] as i64)),
                ];
                self.run("log_service_trace_context", &row, &[sev, svc])?;
            }
            for (svc, k) in l.svc.iter() {
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [sev, svc, "attribute"],
                    None,
                    &k.attrs,
                )?;
                push_service_keys(
                    &mut svc_rows,
                    &mut svc_at,
                    [sev, svc, "resource"],
                    None,
                    &k.resource,
                )?;
            }
        }
        for (sev, attrs, resource) in &unions {
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                sev,
                "attribute",
                None,
                attrs.get(),
            )?;
            push_keys(
                &mut rows,
                &svc_rows,
                &svc_at,
                sev,
                "resource",
                None,
                resource.get(),
            )?;
        }
        for (sev, attrs, resource) in &unions {
            self.key_patterns("log", sev, "attribute", "", attrs.get())?;
            self.key_patterns("log", sev, "resource", "", resource.get())?;
        }
        self.entity_key_rows("logs", "log_key", &rows)?;
        self.key_history("logs", &rows)?;
        self.key_rows("log_service_key", &svc_rows)
    }

    /// The key-name patterns of one entity's key table (its names past the
    /// catalog's `key_name_bound`), in pattern order.
    fn key_patterns(
        &mut self,
        kind: &str,
        entity: &str,
        scope: &str,
        event: &str,
        keys: &Keys,
    ) -> Result<()> {
        if !keys.has_patterns() {
            return Ok(());
        }
        let mut pats: Vec<_> = keys.patterns().collect();
        pats.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (pattern, p) in pats {
            let a = &p.slot;
            let sketch = p.names.image();
            let estimate = estimate_of(&sketch, a.count as i64)?;
            let seen = seen_text(&a.seen);
            let [first, last] = seen_params(&seen);
            let examples = p.examples.to_json();
            let row = [
                ("entity_kind", Param::Text(kind)),
                ("entity_name", Param::Text(entity)),
                ("key_scope", Param::Text(scope)),
                ("event_name", Param::Text(event)),
                ("pattern", Param::Text(pattern)),
                ("key_count", Param::Int(a.count as i64)),
                ("estimated_names", Param::Int(estimate)),
                ("names_sketch", Param::Blob(&sketch)),
                ("sample_names", Param::Text(&examples)),
                ("first_seen", first),
                ("last_seen", last),
                ("bytes", Param::Int(a.bytes as i64)),
            ];
            self.run("key_name_pattern", &row, &[kind, entity, scope, pattern])?;
        }
        Ok(())
    }

    /// The scope rows of one entity (`entity_param` names its column), in
    /// (service, scope name, version) order.
    fn scopes<'a>(
        &mut self,
        stmt: &'static str,
        entity_param: &str,
        entity: &str,
        svcs: impl Iterator<Item = (&'a String, &'a ScopeCounts)>,
        table: &ScopeTable,
    ) -> Result<()> {
        let mut rows: Vec<_> = svcs
            .flat_map(|(svc, sc)| sc.0.iter().map(move |(&i, c)| (svc.as_str(), i, c)))
            .map(|(svc, i, c)| (svc, table.get(i), c))
            .collect();
        rows.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (svc, (scope, version), c) in rows {
            let seen = seen_text(&c.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                (entity_param, Param::Text(entity)),
                ("service_name", Param::Text(svc)),
                ("scope_name", Param::Text(scope)),
                ("scope_version", Param::Text(version)),
                ("sample_count", Param::Int(c.count as i64)),
                ("bytes", Param::Int(c.bytes as i64)),
                ("first_seen", first),
                ("last_seen", last),
            ];
            self.run(stmt, &row, &[entity, svc, scope, version])?;
        }
        Ok(())
    }

    /// Log event names: each name's row and services, then its key rows
    /// (no refresh: the view log_event_keys derives percentages when read).
    pub(super) fn log_events(&mut self, b: &Batch) -> Result<()> {
        let mut rows = Vec::new();
        for (name, e) in sorted(&b.log_events) {
            let seen = seen_text(&e.total.seen);
            let [first, last] = seen_params(&seen);
            let row = [
                ("event_name", Param::Text(name)),
                ("total_sample_count", Param::Int(e.total.count as i64)),
                ("first_seen", first),
                ("last_seen", last),
                ("bytes", Param::Int(e.total.bytes as i64)),
                (
                    "dropped_attributes_count",
                    Param::Int(e.dropped_attributes as i64),
                ),
                ("trace_id_count", Param::Int(e.trace_context[0] as i64)),
                ("span_id_count", Param::Int(e.trace_context[1] as i64)),
            ];
            self.run("log_event", &row, &[name])?;
            self.services("log_event_service", "event_name", name, &e.services)?;
            for (k, a) in sorted_keys(&e.attrs) {
                rows.push(KeyRow::new(&[name, k], a)?);
            }
            self.key_patterns("log_event", name, "attribute", "", &e.attrs)?;
        }
        self.key_rows("log_event_key", &rows)
    }

    /// Each (severity, service)'s template rows, their history and keys,
    /// then its clusters merged away (folds). Percentages are derived when
    /// read (the view log_body_templates): the other rows of the service are
    /// not touched. The rows go [`CHUNK`](super::CHUNK) to a statement, all
    /// groups' before the folds (a fold moves rows of its own group only).
    pub(super) fn log_templates(&mut self, b: &Batch, texts: &Texts) -> Result<()> {
        let mut groups: Vec<_> = b.templates.iter().collect();
        groups.sort_by(|a, b| a.0.cmp(b.0));
        let mut rows = Vec::new();
        let mut history = Vec::new();
        let mut keys = Vec::new();
        for ((sev, svc), g) in &groups {
            let (sev, svc) = (sev.as_str(), svc.as_str());
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let t = &g.clusters[&id];
                let (template, example) = texts.log(sev, svc, id)?;
                rows.push(TemplateRow {
                    sev,
                    svc,
                    id: id as i64,
                    template,
                    example,
                    count: t.lines.count as i64,
                    seen: seen_text(&t.lines.seen),
                    bytes: t.lines.bytes as i64,
                });
                for (bucket, v) in t.volume.by_bucket() {
                    history.push(TemplateHistoryRow {
                        sev,
                        svc,
                        id: id as i64,
                        start: TimeText::of(bucket),
                        count: v.count as i64,
                        bytes: v.bytes as i64,
                    });
                }
                // Names past the bound count under their key-name pattern.
                let mut names: Vec<_> = t
                    .keys
                    .iter()
                    .chain(t.keys.patterns().map(|(p, s)| (p, &s.slot)))
                    .collect();
                names.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (key, k) in names {
                    let c = &k.records;
                    keys.push(TemplateKeyRow {
                        sev,
                        svc,
                        id: id as i64,
                        key,
                        count: c.count as i64,
                        seen: seen_text(&c.seen),
                    });
                }
            }
        }
        self.template_rows(&rows, &history, &keys)?;
        for ((sev, svc), g) in groups {
            let (sev, svc) = (sev.as_str(), svc.as_str());
            // A cluster merged away hands its rows to where its lines went
            // (following later merges of that cluster too).
            for (&(from, _), &to) in g.folds.iter().zip(&final_targets(&g.folds)) {
                let key = [sev, svc, &to.to_string()];
                let group = [
                    ("severity", Param::Text(sev)),
                    ("service_name", Param::Text(svc)),
                    ("from_cluster", Param::Int(from as i64)),
                ];
                let mut fold = group.to_vec();
                fold.push(("to_cluster", Param::Int(to as i64)));
                self.run("log_template_fold", &fold, &key)?;
                self.run("log_template_fold_delete", &group, &key)?;
                self.run("log_template_key_fold", &fold, &key)?;
                self.run("log_template_key_fold_delete", &group, &key)?;
                self.run("template_history_fold", &fold, &key)?;
                self.run("template_history_fold_delete", &group, &key)?;
            }
        }
        Ok(())
    }

    /// Writes template rows, their history rows and key rows, [`CHUNK`](super::CHUNK)
    /// to a statement; a chunk that fails changed nothing, and its rows go
    /// one by one to name the row that fails.
    fn template_rows(
        &mut self,
        rows: &[TemplateRow],
        history: &[TemplateHistoryRow],
        keys: &[TemplateKeyRow],
    ) -> Result<()> {
        if self.templates.is_none() {
            let rows = self.chunked("log_template", &TemplateRow::PARAMS)?;
            let history = self.chunked("template_history", &TemplateHistoryRow::PARAMS)?;
            let keys = self.chunked("log_template_key", &TemplateKeyRow::PARAMS)?;
            self.templates = Some([rows, history, keys]);
        }
        let [r, h, k] = self.templates.as_mut().expect("prepared");
        let (rows, history, keys) = (
            r.run(rows, TemplateRow::values),
            h.run(history, TemplateHistoryRow::values),
            k.run(keys, TemplateKeyRow::values),
        );
        for t in rows {
            let row: Vec<_> = TemplateRow::PARAMS.into_iter().zip(t.values()).collect();
            self.run("log_template", &row, &[t.sev, t.svc, &t.id.to_string()])?;
        }
        for t in history {
            let row: Vec<_> = TemplateHistoryRow::PARAMS
                .into_iter()
                .zip(t.values())
                .collect();
            self.run("template_history", &row, &[t.sev, t.svc, &t.id.to_string()])?;
        }
        for t in keys {
            let row: Vec<_> = TemplateKeyRow::PARAMS.into_iter().zip(t.values()).collect();
            self.run(
                "log_template_key",
                &row,
                &[t.sev, t.svc, &t.id.to_string(), t.key],
            )?;
        }
        Ok(())
    }

    /// Span-name patterns, per service: rows, folds, estimated names.
    pub(super) fn span_patterns(
        &mut self,
        groups: &Map<String, PatternGroup>,
        texts: &Texts,
    ) -> Result<()> {
        for (svc, g) in sorted(groups) {
            let mut ids: Vec<_> = g.clusters.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let p = &g.clusters[&id];
                let (pattern, example) = texts.pattern(svc, id)?;
                let sketch = p.names.image();
                let seen = seen_text(&p.spans.seen);
                let [first, last] = seen_params(&seen);
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("cluster_id", Param::Int(id as i64)),
                    ("pattern", Param::Text(&pattern)),
                    ("example", Param::Text(&example)),
                    ("span_count", Param::Int(p.spans.count as i64)),
                    ("names_sketch", Param::Blob(&sketch)),
                    ("first_seen", first),
                    ("last_seen", last),
                ];
                self.run("span_pattern", &row, &[svc, &id.to_string()])?;
            }
            let targets = final_targets(&g.folds);
            for (&(from, _), &to) in g.folds.iter().zip(&targets) {
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("from_cluster", Param::Int(from as i64)),
                    ("to_cluster", Param::Int(to as i64)),
                ];
                self.run("span_pattern_fold", &row, &[svc, &to.to_string()])?;
                self.run(
                    "span_pattern_fold_delete",
                    &row[..2],
                    &[svc, &from.to_string()],
                )?;
            }
            // Estimated names of the patterns written, and of those folded
            // into: the service's other patterns did not change.
            let mut changed: Vec<u64> = g.clusters.keys().copied().collect();
            changed.extend(targets);
            changed.sort_unstable();
            changed.dedup();
            for id in changed {
                let id_text = id.to_string();
                let row = [
                    ("service_name", Param::Text(svc)),
                    ("cluster_id", Param::Int(id as i64)),
                ];
                self.run("span_pattern_refresh", &row, &[svc, &id_text])?;
            }
        }
        Ok(())
    }
}

/// Adds the rows of one scope's keys, in key order: (entity, scope, key)
/// then, for spans, `event` ("" outside the event scope).
///
/// A key of an entity that one service sent in this batch is that service's
/// key itself (`EntityKeys::One`): its row copies the service row's values
/// (`svc_at`: where each key's service row is) instead of encoding them again.
fn push_keys<'a>(
    rows: &mut Vec<KeyRow<'a>>,
    svc_rows: &[KeyRow<'a>],
    svc_at: &Map<usize, usize>,
    entity: &'a str,
    scope: &'a str,
    event: Option<&'a str>,
    keys: &'a Keys,
) -> Result<()> {
    for (k, a) in sorted_keys(keys) {
        let texts: &[&'a str] = match event {
            Some(ev) => &[entity, scope, k, ev],
            None => &[entity, scope, k],
        };
        let mut row = match svc_at.get(&key_address(a)) {
            Some(&i) => svc_rows[i].copy_as(texts),
            None => KeyRow::new(texts, a)?,
        };
        row.agg = Some(a);
        rows.push(row.with_top_values()?);
    }
    Ok(())
}

/// Where a key's statistics are (identifies it while the batch is borrowed).
fn key_address(a: &KeyAgg) -> usize {
    a as *const KeyAgg as usize
}

/// Adds the per-service rows of one scope's keys, in key order: (entity,
/// service, scope, key) then, for spans, `event`.
fn push_service_keys<'a>(
    rows: &mut Vec<KeyRow<'a>>,
    svc_at: &mut Map<usize, usize>,
    [entity, service, scope]: [&'a str; 3],
    event: Option<&'a str>,
    keys: &'a Keys,
) -> Result<()> {
    for (k, a) in sorted_keys(keys) {
        svc_at.insert(key_address(a), rows.len());
        rows.push(match event {
            Some(ev) => KeyRow::new(&[entity, service, scope, k, ev], a)?,
            None => KeyRow::new(&[entity, service, scope, k], a)?,
        });
    }
    Ok(())
}

/// For each fold `(from, into)` of a batch, in order, where the lines of
/// `from` end up: `into`, or where later folds moved it. One backward pass
/// (a chain of F folds is not followed F times).
fn final_targets(folds: &[(u64, u64)]) -> Vec<u64> {
    // Cluster -> where it ends up, by the folds after the one at hand (a
    // cluster folded away is gone, but if an id came back, the first of
    // its later folds is the one that moves lines sent to it).
    let mut ends: Map<u64, u64> = Map::new();
    let mut out = vec![0; folds.len()];
    for (k, &(from, into)) in folds.iter().enumerate().rev() {
        let to = ends.get(&into).copied().unwrap_or(into);
        out[k] = to;
        ends.insert(from, to);
    }
    out
}

/// A row of `log_template` (sql/flush.sql).
#[derive(Clone)]
struct TemplateRow<'a> {
    sev: &'a str,
    svc: &'a str,
    id: i64,
    template: String,
    example: String,
    count: i64,
    seen: Option<[TimeText; 2]>,
    bytes: i64,
}

impl TemplateRow<'_> {
    const PARAMS: [&'static str; 9] = [
        "severity",
        "service_name",
        "cluster_id",
        "template",
        "example",
        "count",
        "first_seen",
        "last_seen",
        "bytes",
    ];

    fn values(&self) -> [Param<'_>; 9] {
        let [first, last] = seen_params(&self.seen);
        [
            Param::Text(self.sev),
            Param::Text(self.svc),
            Param::Int(self.id),
            Param::Text(&self.template),
            Param::Text(&self.example),
            Param::Int(self.count),
            first,
            last,
            Param::Int(self.bytes),
        ]
    }
}

/// A row of `template_history` (sql/flush.sql): a template's records of
/// one bucket.
#[derive(Clone)]
struct TemplateHistoryRow<'a> {
    sev: &'a str,
    svc: &'a str,
    id: i64,
    start: TimeText,
    count: i64,
    bytes: i64,
}

impl TemplateHistoryRow<'_> {
    const PARAMS: [&'static str; 6] = [
        "severity",
        "service_name",
        "cluster_id",
        "bucket_start",
        "count",
        "bytes",
    ];

    fn values(&self) -> [Param<'_>; 6] {
        [
            Param::Text(self.sev),
            Param::Text(self.svc),
            Param::Int(self.id),
            Param::Text(self.start.as_str()),
            Param::Int(self.count),
            Param::Int(self.bytes),
        ]
    }
}

/// A row of `log_template_key` (sql/flush.sql): a key of a template's
/// records.
#[derive(Clone)]
struct TemplateKeyRow<'a> {
    sev: &'a str,
    svc: &'a str,
    id: i64,
    key: &'a str,
    count: i64,
    seen: Option<[TimeText; 2]>,
}

impl TemplateKeyRow<'_> {
    const PARAMS: [&'static str; 7] = [
        "severity",
        "service_name",
        "cluster_id",
        "key_name",
        "key_count",
        "first_seen",
        "last_seen",
    ];

    fn values(&self) -> [Param<'_>; 7] {
        let [first, last] = seen_params(&self.seen);
        [
            Param::Text(self.sev),
            Param::Text(self.svc),
            Param::Int(self.id),
            Param::Text(self.key),
            Param::Int(self.count),
            first,
            last,
        ]
    }
}

/// The metric row's shape parameters (schema version 3).
fn shape_params(m: &MetricAgg) -> [(&'static str, Param<'static>); 7] {
    let int = |v: Option<i64>| v.map_or(Param::Null, Param::Int);
    let sh = &m.shape;
    [
        ("temporality", Param::Text(m.temporality.as_str())),
        ("is_monotonic", Param::Int(i64::from(m.monotonic))),
        (
            "histogram_buckets",
            int(sh.histogram_buckets.map(i64::from)),
        ),
        ("exp_histogram_buckets", int(sh.exp_buckets.map(i64::from))),
        (
            "exp_histogram_min_scale",
            int(sh.exp_scale.map(|s| i64::from(s.0))),
        ),
        (
            "exp_histogram_max_scale",
            int(sh.exp_scale.map(|s| i64::from(s.1))),
        ),
        (
            "summary_quantiles",
            int(sh.summary_quantiles.map(i64::from)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backward pass gives what following each fold's later folds
    /// one by one gives (chains, merges into a cluster merged later, ids
    /// folded twice), on random fold lists.
    #[test]
    fn final_targets_follow_later_folds() {
        fn naive(later: &[(u64, u64)], mut to: u64) -> u64 {
            for &(f, i) in later {
                if f == to {
                    to = i;
                }
            }
            to
        }
        let mut r = crate::testutil::XorShift::new(0x5EED_F01D);
        for _ in 0..2_000 {
            let n = r.below(30) as usize;
            let ids = 1 + r.below(12);
            let folds: Vec<(u64, u64)> = (0..n).map(|_| (r.below(ids), r.below(ids))).collect();
            let want: Vec<u64> = (0..n).map(|k| naive(&folds[k + 1..], folds[k].1)).collect();
            assert_eq!(final_targets(&folds), want, "{folds:?}");
        }
        // A chain: 1 -> 2, 2 -> 3, ..., all end in the last.
        let chain: Vec<(u64, u64)> = (1..50_000).map(|i| (i, i + 1)).collect();
        assert!(final_targets(&chain).iter().all(|&t| t == 50_000));
    }
}
