//! Event messages (`GET /events`) and Docker's event filters.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::models::EventMessage;
use crate::ApiError;

/// One event as streamed by `/events`: the current fields plus the legacy `status`, `id`
/// and `from` that dockerd still sends for container and image events (docker-py reads them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "status", skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "from", skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(flatten)]
    pub message: EventMessage,
}

impl Event {
    pub fn kind(&self) -> String {
        self.message.typ.map(|t| t.to_string()).unwrap_or_default()
    }
    pub fn action(&self) -> &str {
        self.message.action.as_deref().unwrap_or("")
    }
    pub fn actor_id(&self) -> &str {
        self.message
            .actor
            .as_ref()
            .and_then(|a| a.id.as_deref())
            .unwrap_or("")
    }
    pub fn attributes(&self) -> Option<&HashMap<String, String>> {
        self.message
            .actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
    }
    pub fn time_nano(&self) -> i64 {
        self.message.time_nano.unwrap_or(0)
    }
}

/// Docker's `filters` query parameter for `/events`: `{"type":["container"],"event":["start"]}`
/// (the older `{"type":{"container":true}}` form is accepted too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilters {
    filters: BTreeMap<String, Vec<String>>,
}

const EVENT_FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

impl EventFilters {
    /// Parses the JSON of the `filters` parameter; unknown keys are an error, like dockerd's
    /// "invalid filter 'x'".
    pub fn parse(json: &str) -> Result<Self, ApiError> {
        let filters = parse_filter_json(json)?;
        if let Some(bad) = filters
            .keys()
            .find(|k| !EVENT_FILTER_KEYS.contains(&k.as_str()))
        {
            return Err(ApiError::invalid(format!("invalid filter '{bad}'")));
        }
        Ok(Self { filters })
    }

    /// Whether `event` passes every filter key (values of one key are OR-ed, keys AND-ed).
    pub fn matches(&self, event: &Event) -> bool {
        let kind = event.kind();
        let name = event
            .attributes()
            .and_then(|a| a.get("name"))
            .map(String::as_str)
            .unwrap_or("");
        self.filters.iter().all(|(key, values)| {
            values.iter().any(|v| match key.as_str() {
                "type" => *v == kind,
                // `health_status` matches `health_status: healthy` like dockerd.
                "event" => event.action() == v || event.action().starts_with(&format!("{v}:")),
                "scope" => event.message.scope.map(|s| s.to_string()).as_deref() == Some(v),
                "label" => match_label(event.attributes(), v),
                "image" => {
                    kind == "image" && (event.actor_id() == v || name == v)
                        || event
                            .attributes()
                            .and_then(|a| a.get("image"))
                            .is_some_and(|i| i == v)
                }
                object => {
                    kind == object
                        && (event.actor_id() == v
                            || (!v.is_empty() && event.actor_id().starts_with(v.as_str()))
                            || name == v)
                }
            })
        })
    }
}

fn match_label(attrs: Option<&HashMap<String, String>>, want: &str) -> bool {
    let Some(attrs) = attrs else { return false };
    match want.split_once('=') {
        Some((k, v)) => attrs.get(k).is_some_and(|x| x == v),
        None => attrs.contains_key(want),
    }
}

/// Parses Docker's filter JSON in either of its two shapes into key → values.
pub fn parse_filter_json(json: &str) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    if json.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| ApiError::invalid(format!("invalid filter: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| ApiError::invalid("invalid filter: expected a JSON object"))?;
    let mut out = BTreeMap::new();
    for (key, v) in obj {
        let values: Vec<String> = match v {
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| ApiError::invalid(format!("invalid filter '{key}'")))?,
            serde_json::Value::Object(map) => map
                .iter()
                .filter(|(_, on)| on.as_bool().unwrap_or(false))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => return Err(ApiError::invalid(format!("invalid filter '{key}'"))),
        };
        out.insert(key.clone(), values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{EventActor, EventMessageTypeEnum};

    fn ev(kind: EventMessageTypeEnum, action: &str, id: &str, name: &str) -> Event {
        Event {
            message: EventMessage {
                typ: Some(kind),
                action: Some(action.into()),
                actor: Some(EventActor {
                    id: Some(id.into()),
                    attributes: Some(HashMap::from([
                        ("name".to_string(), name.to_string()),
                        ("com.example".to_string(), "yes".to_string()),
                    ])),
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn both_filter_shapes_parse() {
        let a = EventFilters::parse(r#"{"type":["container"]}"#).unwrap();
        let b = EventFilters::parse(r#"{"type":{"container":true}}"#).unwrap();
        assert_eq!(a, b);
        assert!(EventFilters::parse(r#"{"bogus":["x"]}"#).is_err());
        assert!(EventFilters::parse("{not json").is_err());
    }

    #[test]
    fn filters_match_like_dockerd() {
        let e = ev(EventMessageTypeEnum::CONTAINER, "start", "abcdef123", "web");
        let f = |s: &str| EventFilters::parse(s).unwrap().matches(&e);
        assert!(f(r#"{"type":["container"],"event":["start","stop"]}"#));
        assert!(!f(r#"{"type":["image"]}"#));
        assert!(f(r#"{"container":["web"]}"#));
        assert!(f(r#"{"container":["abcdef"]}"#));
        assert!(!f(r#"{"container":["db"]}"#));
        assert!(f(r#"{"label":["com.example=yes"]}"#));
        assert!(!f(r#"{"label":["com.example=no"]}"#));
        let h = ev(
            EventMessageTypeEnum::CONTAINER,
            "health_status: healthy",
            "x",
            "y",
        );
        assert!(EventFilters::parse(r#"{"event":["health_status"]}"#)
            .unwrap()
            .matches(&h));
    }

    #[test]
    fn legacy_fields_serialize_beside_new_ones() {
        let mut e = ev(EventMessageTypeEnum::CONTAINER, "start", "abc", "web");
        e.status = Some("start".into());
        e.id = Some("abc".into());
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["status"], "start");
        assert_eq!(json["Type"], "container");
        assert_eq!(json["Actor"]["ID"], "abc");
    }
}
