//! A container's run state, stored as JSON in its record; shaped like Docker's `State`.

use serde::{Deserialize, Serialize};

pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    /// created, running, paused, restarting, removing, exited, dead
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
    /// berth's bookkeeping, stored with the state but not part of Docker's `State`
    /// (see [`State::docker_json`]): restarts by the policy since the last explicit start,
    /// whether the user stopped it (no policy restart then), and the next back-off.
    #[serde(default, rename = "BerthRestartCount")]
    pub restart_count: i64,
    #[serde(default, rename = "BerthManuallyStopped")]
    pub manually_stopped: bool,
    #[serde(default, rename = "BerthRestartDelayMs")]
    pub restart_delay_ms: u64,
    /// health hook: Docker's `Health` (only for containers with a healthcheck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<super::health::Health>,
}

impl State {
    pub fn created() -> Self {
        Self {
            status: "created".into(),
            running: false,
            paused: false,
            restarting: false,
            oom_killed: false,
            dead: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            restart_count: 0,
            manually_stopped: false,
            restart_delay_ms: 0,
            health: None, // health hook
        }
    }

    /// Docker's `State` object (without berth's bookkeeping fields).
    pub fn docker_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            m.retain(|k, _| !k.starts_with("Berth"));
        }
        v
    }

    /// `ps`'s STATUS column: "Created", "Up 5 seconds", "Exited (0) 3 minutes ago".
    pub fn human(&self, now: time::OffsetDateTime) -> String {
        let ago = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .map(|t| human_duration((now - t).whole_seconds().max(0)))
                .unwrap_or_default()
        };
        match self.status.as_str() {
            "created" => "Created".into(),
            // health hook: "Up 5 seconds (healthy)", "(health: starting)", "(unhealthy)"
            "running" => match &self.health {
                Some(h) => format!("Up {} ({})", ago(&self.started_at), h.ps_word()),
                None => format!("Up {}", ago(&self.started_at)),
            },
            "paused" => format!("Up {} (Paused)", ago(&self.started_at)),
            "exited" => format!("Exited ({}) {} ago", self.exit_code, ago(&self.finished_at)),
            "restarting" => format!(
                "Restarting ({}) {} ago",
                self.exit_code,
                ago(&self.finished_at)
            ),
            "dead" => "Dead".into(),
            other => other.to_string(),
        }
    }
}

/// go-units' HumanDuration for whole seconds.
fn human_duration(secs: i64) -> String {
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".into(),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s if s < 7 * 24 * 3600 * 2 => format!("{} days", s / 86400),
        s if s < 30 * 24 * 3600 * 2 => format!("{} weeks", s / (7 * 86400)),
        s if s < 365 * 24 * 3600 * 2 => format!("{} months", s / (30 * 86400)),
        s => format!("{} years", s / (365 * 86400)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_match_docker() {
        let now = time::OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert_eq!(State::created().human(now), "Created");
        let mut s = State::created();
        s.status = "exited".into();
        s.exit_code = 3;
        s.finished_at = "1970-01-12T13:44:40Z".into(); // now - 120 s
        assert_eq!(s.human(now), "Exited (3) 2 minutes ago");
        let json = State::created().docker_json();
        assert_eq!(json["OOMKilled"], false);
        assert!(json.get("BerthRestartCount").is_none());
        assert_eq!(json["StartedAt"], ZERO_TIME);
    }
}
