//! The event bus behind `GET /events`: every engine action publishes here; subscribers get
//! the recent history (for `since`) and then the live stream.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use berth_api::models::{EventActor, EventMessage, EventMessageScopeEnum, EventMessageTypeEnum};
use berth_api::Event;
use tokio::sync::broadcast;

/// How many past events are kept for `since` queries (dockerd keeps 256).
const HISTORY: usize = 1024;

pub struct EventBus {
    inner: Mutex<VecDeque<Arc<Event>>>,
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(HISTORY);
        Self {
            inner: Mutex::new(VecDeque::with_capacity(64)),
            tx,
        }
    }

    /// Records and broadcasts an event, stamping it with the current time.
    pub fn publish(
        &self,
        kind: EventMessageTypeEnum,
        action: &str,
        id: &str,
        attributes: HashMap<String, String>,
    ) {
        let now = time::OffsetDateTime::now_utc();
        let nanos = now.unix_timestamp_nanos() as i64;
        let legacy = matches!(
            kind,
            EventMessageTypeEnum::CONTAINER | EventMessageTypeEnum::IMAGE
        );
        let from = attributes.get("image").cloned();
        let event = Arc::new(Event {
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: if kind == EventMessageTypeEnum::CONTAINER {
                from
            } else {
                None
            },
            message: EventMessage {
                typ: Some(kind),
                action: Some(action.to_string()),
                actor: Some(EventActor {
                    id: Some(id.to_string()),
                    attributes: Some(attributes),
                }),
                scope: Some(EventMessageScopeEnum::LOCAL),
                time: Some(nanos / 1_000_000_000),
                time_nano: Some(nanos),
            },
        });
        // Hold the history lock while sending, so a subscriber sees each event exactly once:
        // either in its history snapshot or on its receiver.
        let mut history = self.lock();
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(event.clone());
        let _ = self.tx.send(event);
    }

    /// The events recorded so far, and a receiver for every later one.
    pub fn subscribe(&self) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let history = self.lock();
        (history.iter().cloned().collect(), self.tx.subscribe())
    }

    /// Live subscribers (`docker info` → NEventsListener).
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Event>>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscriber_sees_history_then_live_events_once() {
        let bus = EventBus::new();
        bus.publish(EventMessageTypeEnum::DAEMON, "reload", "d1", HashMap::new());
        let (history, mut rx) = bus.subscribe();
        assert_eq!(history.len(), 1);
        assert_eq!(bus.listeners(), 1);
        bus.publish(
            EventMessageTypeEnum::IMAGE,
            "tag",
            "sha256:x",
            HashMap::new(),
        );
        let live = rx.recv().await.unwrap();
        assert_eq!(live.action(), "tag");
        assert_eq!(live.status.as_deref(), Some("tag"));
        assert!(live.time_nano() >= history[0].time_nano());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn history_is_bounded() {
        let bus = EventBus::new();
        for i in 0..HISTORY + 10 {
            bus.publish(
                EventMessageTypeEnum::DAEMON,
                &i.to_string(),
                "d",
                HashMap::new(),
            );
        }
        let (history, _) = bus.subscribe();
        assert_eq!(history.len(), HISTORY);
        assert_eq!(history[0].action(), "10");
    }
}
