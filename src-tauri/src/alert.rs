//! Telling the person: desktop notifications, all shown by one task.
//!
//! On Linux and the BSDs the task holds one session-bus connection: it sends `Notify` to the
//! freedesktop notification server and listens there for `ActionInvoked` and
//! `NotificationClosed`, so any number of notifications with a Renew button wait on no
//! thread of their own. Elsewhere notify-rust shows them, without the button (the text says
//! what to do). A desktop without a notification server is logged, never fatal: the tray
//! still shows the state.

use rolecall_core::tray_menu::Toast;
use rolecall_core::untrusted;
use tokio::sync::mpsc;

use crate::Tasks;

const APP_NAME: &str = "Rolecall";
/// Notifications waiting for the task; more at once are logged and dropped.
const QUEUE: usize = 32;

/// Where notifications are sent; cheap to clone.
#[derive(Debug, Clone)]
pub struct Alerts {
    queue: mpsc::Sender<Toast>,
}

impl Alerts {
    /// Starts the one task that shows notifications; `on_renew` runs with the endpoint of a
    /// notification whose Renew button was pressed.
    pub fn start(tasks: &Tasks, on_renew: impl Fn(String) + Send + 'static) -> Self {
        let (queue, toasts) = mpsc::channel(QUEUE);
        tasks.spawn(show_all(toasts, on_renew));
        Self { queue }
    }

    /// Says something went wrong and why. Never blocks.
    pub fn failure(&self, summary: &str, body: &str) {
        self.show(Toast {
            summary: summary.to_owned(),
            body: body.to_owned(),
            renew: None,
        });
    }

    pub fn show(&self, toast: Toast) {
        if let Err(err) = self.queue.try_send(toast) {
            let toast = match err {
                mpsc::error::TrySendError::Full(toast)
                | mpsc::error::TrySendError::Closed(toast) => toast,
            };
            tracing::warn!(
                "too many notifications at once, not shown: {}: {}",
                toast.summary,
                toast.body
            );
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
async fn show_all(mut toasts: mpsc::Receiver<Toast>, on_renew: impl Fn(String)) {
    use std::collections::BTreeMap;
    use zbus::export::futures_core::Stream;

    /// Renew buttons remembered at once; the oldest is forgotten first.
    const WAITING: usize = 64;
    let bus = match zbus::Connection::session().await {
        Ok(bus) => Some(bus),
        Err(err) => {
            tracing::warn!("no notifications: the session bus is not there ({err})");
            None
        }
    };
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface("org.freedesktop.Notifications")
        .build();
    let mut signals = match (&bus, rule) {
        (Some(bus), Ok(rule)) => zbus::MessageStream::for_match_rule(rule, bus, None)
            .await
            .ok(),
        _ => None,
    };
    // The notification server's id of each notification with a Renew button → its endpoint.
    let mut waiting = BTreeMap::<u32, String>::new();
    loop {
        let signal = std::future::poll_fn(|cx| match signals.as_mut() {
            Some(signals) => std::pin::Pin::new(signals).poll_next(cx),
            None => std::task::Poll::Pending,
        });
        tokio::select! {
            toast = toasts.recv() => {
                let Some(toast) = toast else { break };
                let Some(bus) = &bus else {
                    tracing::warn!("notification not shown: {}: {}", toast.summary, toast.body);
                    continue;
                };
                match notify(bus, &toast).await {
                    Ok(id) => if let Some(endpoint) = toast.renew {
                        waiting.insert(id, endpoint);
                        if waiting.len() > WAITING {
                            waiting.pop_first();
                        }
                    },
                    Err(err) => tracing::warn!("could not show a notification ({err}): {}", toast.summary),
                }
            }
            Some(Ok(message)) = signal => {
                let header = message.header();
                match header.member().map(|member| member.as_str()) {
                    Some("ActionInvoked") => {
                        if let Ok((id, action)) = message.body().deserialize::<(u32, String)>()
                            && action == RENEW
                            && let Some(endpoint) = waiting.remove(&id)
                        {
                            on_renew(endpoint);
                        }
                    }
                    Some("NotificationClosed") => {
                        if let Ok((id, _reason)) = message.body().deserialize::<(u32, u32)>() {
                            waiting.remove(&id);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The action id of the "Renew" button.
#[cfg(all(unix, not(target_os = "macos")))]
const RENEW: &str = "renew";

/// Sends one notification; its id as the server gave it.
#[cfg(all(unix, not(target_os = "macos")))]
async fn notify(bus: &zbus::Connection, toast: &Toast) -> zbus::Result<u32> {
    let actions: &[&str] = if toast.renew.is_some() {
        &[RENEW, "Renew"]
    } else {
        &[]
    };
    let hints = std::collections::HashMap::<&str, zbus::Variant>::new();
    let reply = bus
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "Notify",
            &(
                APP_NAME,
                0u32,
                "",
                untrusted::for_terminal(&toast.summary).as_ref(),
                // The reasons quote the IdP's own words, and the server reads the body as markup.
                untrusted::for_notification(&toast.body).as_str(),
                actions,
                hints,
                -1i32,
            ),
        )
        .await?;
    reply.body().deserialize::<u32>()
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
async fn show_all(mut toasts: mpsc::Receiver<Toast>, _on_renew: impl Fn(String)) {
    while let Some(toast) = toasts.recv().await {
        let shown = tokio::task::spawn_blocking(move || {
            notify_rust::Notification::new()
                .appname(APP_NAME)
                .summary(&untrusted::for_terminal(&toast.summary))
                .body(&untrusted::for_terminal(&toast.body))
                .show()
                .map(drop)
        })
        .await;
        if !matches!(shown, Ok(Ok(()))) {
            tracing::warn!("could not show a notification");
        }
    }
}
