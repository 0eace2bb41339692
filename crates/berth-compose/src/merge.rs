//! Merging normalised trees: override files onto the base, a service onto the one it
//! `extends`. The Compose Specification's rules: mappings merge key by key, scalars are
//! replaced, sequences are appended without duplicates, except `command`, `entrypoint` and
//! `healthcheck.test` (replaced), `ports` (appended, exact duplicates dropped), `volumes`
//! (by target), `secrets`/`configs` (by target, else source), and `logging` (options
//! replaced when the driver changes).

use serde_json::{Map, Value};

/// Merges a whole file's tree `over` onto `base`.
pub fn merge_file(base: &mut Value, over: Value) {
    let (Value::Object(b), Value::Object(o)) = (&mut *base, over) else {
        return;
    };
    for (k, v) in o {
        match k.as_str() {
            "services" => {
                let services = b
                    .entry("services")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let (Value::Object(bs), Value::Object(os)) = (services, v) {
                    for (name, svc) in os {
                        match bs.get_mut(&name) {
                            Some(existing) => merge_service(existing, svc),
                            None => {
                                bs.insert(name, svc);
                            }
                        }
                    }
                }
            }
            _ => match b.get_mut(&k) {
                Some(existing) => merge_value(existing, v),
                None => {
                    b.insert(k, v);
                }
            },
        }
    }
}

/// Merges service `over` onto `base` (both normalised).
pub fn merge_service(base: &mut Value, over: Value) {
    let (Value::Object(b), Value::Object(o)) = (&mut *base, over) else {
        *base = Value::Null;
        return;
    };
    for (k, v) in o {
        let Some(existing) = b.get_mut(&k) else {
            b.insert(k, v);
            continue;
        };
        match k.as_str() {
            "command" | "entrypoint" => *existing = v,
            "ports" => append_unique(existing, v, |_| None),
            "volumes" => append_unique(existing, v, |item| key_of(item, &["target"])),
            "secrets" | "configs" => {
                append_unique(existing, v, |item| key_of(item, &["target", "source"]))
            }
            "healthcheck" => {
                if let (Value::Object(eb), Value::Object(mut ov)) = (&mut *existing, v.clone()) {
                    if let Some(test) = ov.remove("test") {
                        eb.insert("test".into(), test);
                    }
                    merge_value(existing, Value::Object(ov));
                } else {
                    *existing = v;
                }
            }
            "logging" => {
                let driver = |x: &Value| x.get("driver").cloned();
                if driver(&v).is_some() && driver(existing) != driver(&v) {
                    *existing = v;
                } else {
                    merge_value(existing, v);
                }
            }
            _ => merge_value(existing, v),
        }
    }
}

/// The generic rule: maps merge, sequences append (without duplicates), the rest replaces.
pub fn merge_value(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge_value(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b @ Value::Array(_), over @ Value::Array(_)) => append_unique(b, over, |_| None),
        (b, o) => *b = o,
    }
}

fn key_of(item: &Value, fields: &[&str]) -> Option<String> {
    fields
        .iter()
        .find_map(|f| item.get(*f).and_then(Value::as_str).map(str::to_string))
}

/// Appends `over`'s items to `base`; an item with the same key (or, without a key, an
/// equal item) replaces the earlier one in place.
fn append_unique(base: &mut Value, over: Value, key: impl Fn(&Value) -> Option<String>) {
    let (Value::Array(b), Value::Array(o)) = (&mut *base, over.clone()) else {
        *base = over;
        return;
    };
    for item in o {
        let pos = match key(&item) {
            Some(k) => b.iter().position(|x| key(x).as_deref() == Some(&k)),
            None => b.iter().position(|x| *x == item),
        };
        match pos {
            Some(p) => b[p] = item,
            None => b.push(item),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn merged(base: Value, over: Value) -> Value {
        let mut b = base;
        merge_service(&mut b, over);
        b
    }

    #[test]
    fn scalars_replace_and_maps_merge() {
        let m = merged(
            json!({"image": "a", "environment": {"A": "1", "B": "2"}, "labels": {"x": "1"}}),
            json!({"image": "b", "environment": {"B": "3", "C": "4"}}),
        );
        assert_eq!(m["image"], "b");
        assert_eq!(m["environment"], json!({"A": "1", "B": "3", "C": "4"}));
        assert_eq!(m["labels"], json!({"x": "1"}));
    }

    #[test]
    fn commands_replace_lists_append_unique() {
        let m = merged(
            json!({"command": ["a", "b"], "cap_add": ["NET_ADMIN"], "dns": ["1.1.1.1"]}),
            json!({"command": ["c"], "cap_add": ["NET_ADMIN", "SYS_TIME"], "dns": ["8.8.8.8"]}),
        );
        assert_eq!(m["command"], json!(["c"]));
        assert_eq!(m["cap_add"], json!(["NET_ADMIN", "SYS_TIME"]));
        assert_eq!(m["dns"], json!(["1.1.1.1", "8.8.8.8"]));
    }

    #[test]
    fn ports_append_and_drop_duplicates() {
        let p80 = json!({"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"});
        let p443 = json!({"mode": "ingress", "target": 443, "protocol": "tcp"});
        let m = merged(
            json!({"ports": [p80.clone()]}),
            json!({"ports": [p80.clone(), p443.clone()]}),
        );
        assert_eq!(m["ports"], json!([p80, p443]));
    }

    #[test]
    fn volumes_merge_by_target() {
        let m = merged(
            json!({"volumes": [
                {"type": "volume", "source": "a", "target": "/data"},
                {"type": "bind", "source": "/x", "target": "/x"}
            ]}),
            json!({"volumes": [
                {"type": "volume", "source": "b", "target": "/data"},
                {"type": "tmpfs", "target": "/tmp"}
            ]}),
        );
        assert_eq!(
            m["volumes"],
            json!([
                {"type": "volume", "source": "b", "target": "/data"},
                {"type": "bind", "source": "/x", "target": "/x"},
                {"type": "tmpfs", "target": "/tmp"}
            ])
        );
    }

    #[test]
    fn secrets_by_target_or_source() {
        let m = merged(
            json!({"secrets": [{"source": "a"}, {"source": "b", "target": "t"}]}),
            json!({"secrets": [{"source": "a", "mode": 256}, {"source": "c", "target": "t"}]}),
        );
        assert_eq!(
            m["secrets"],
            json!([{"source": "a", "mode": 256}, {"source": "c", "target": "t"}])
        );
    }

    #[test]
    fn healthcheck_test_replaces_rest_merges() {
        let m = merged(
            json!({"healthcheck": {"test": ["CMD", "a", "b"], "interval": "5s", "retries": 3}}),
            json!({"healthcheck": {"test": ["CMD", "c"], "retries": 5}}),
        );
        assert_eq!(
            m["healthcheck"],
            json!({"test": ["CMD", "c"], "interval": "5s", "retries": 5})
        );
    }

    #[test]
    fn logging_options_reset_when_the_driver_changes() {
        let base = json!({"logging": {"driver": "json-file", "options": {"max-size": "1m"}}});
        let same = merged(
            base.clone(),
            json!({"logging": {"options": {"max-file": "2"}}}),
        );
        assert_eq!(
            same["logging"]["options"],
            json!({"max-size": "1m", "max-file": "2"})
        );
        let other = merged(base, json!({"logging": {"driver": "none"}}));
        assert_eq!(other["logging"], json!({"driver": "none"}));
    }

    #[test]
    fn files_merge_services_and_resources() {
        let mut base = json!({
            "services": {"web": {"image": "a"}},
            "volumes": {"data": {}},
        });
        merge_file(
            &mut base,
            json!({
                "services": {"web": {"ports": []}, "db": {"image": "db"}},
                "volumes": {"data": {"driver": "local"}, "more": {}},
            }),
        );
        assert_eq!(base["services"]["web"], json!({"image": "a", "ports": []}));
        assert_eq!(base["services"]["db"]["image"], "db");
        assert_eq!(
            base["volumes"],
            json!({"data": {"driver": "local"}, "more": {}})
        );
    }
}
