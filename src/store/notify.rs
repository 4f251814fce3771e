//! Change notifications from PostgreSQL (`LISTEN`/`NOTIFY`) for in-process caches.
//!
//! Every pooled connection of a [`super::Db`] listens on [`CHANNELS`]. Triggers notify when a
//! cached fact changes (today: a patient's consents, channel `hiehub_consent`, migration
//! `2026-11-23-000009_consent_changes`); PostgreSQL delivers the notification when the writing
//! transaction commits, to every listening session, the writer's own included. [`super::Db::run`]
//! drains the connection's notifications before and after each piece of work and hands them to
//! the subscribers, on the same thread.
//!
//! Invariant: a change committed through a [`super::Db`] reaches its subscribers before the
//! `run` that committed it returns, so before the request that made it is answered.
//! Invariant: when notifications may have been lost (a new connection, a broken one), every
//! subscriber is told to forget everything ([`Event::Reset`]).
//!
//! A change committed by another process (another hiehub on the same database, `psql`) reaches
//! a connection asynchronously, in the microseconds after its commit, and is drained by the next
//! `run` on that connection.

use std::sync::{Arc, RwLock, Weak};

use diesel::PgConnection;

/// The channels every pooled connection listens on.
pub const CHANNELS: &[&str] = &["hiehub_consent"];

/// What a subscriber is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// `payload` changed on `channel`.
    Changed { channel: &'a str, payload: &'a str },
    /// Notifications may have been missed: forget everything.
    Reset,
}

/// A cache that wants to hear about changes.
pub trait Subscriber: Send + Sync {
    fn notify(&self, event: Event<'_>);
}

/// The subscribers of one database handle (shared by its clones and its pool's customizer).
#[derive(Default)]
pub struct Feed {
    subscribers: RwLock<Vec<Weak<dyn Subscriber>>>,
}

impl Feed {
    /// Adds `s` for as long as it lives elsewhere (the feed holds it weakly).
    pub fn subscribe(&self, s: &Arc<dyn Subscriber>) {
        if let Ok(mut subs) = self.subscribers.write() {
            subs.retain(|w| w.strong_count() > 0);
            subs.push(Arc::downgrade(s));
        }
    }

    fn deliver(&self, event: Event<'_>) {
        let subs: Vec<Arc<dyn Subscriber>> = match self.subscribers.read() {
            Ok(s) => s.iter().filter_map(Weak::upgrade).collect(),
            Err(_) => return,
        };
        for s in subs {
            s.notify(event);
        }
    }

    /// Hands the notifications waiting on `conn` to the subscribers. A connection that cannot
    /// be read may have lost some: [`Event::Reset`].
    pub fn drain(&self, conn: &mut PgConnection) {
        for n in conn.notifications_iter() {
            match n {
                Ok(n) => self.deliver(Event::Changed {
                    channel: &n.channel,
                    payload: &n.payload,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "reading database notifications failed");
                    self.deliver(Event::Reset);
                    return;
                }
            }
        }
    }

    /// A connection that just started listening: what happened before is unknown.
    pub fn reset(&self) {
        self.deliver(Event::Reset);
    }
}

/// The pool's connection customizer: `LISTEN` on every new connection, then [`Feed::reset`].
#[derive(Clone)]
pub struct Listen(pub Arc<Feed>);

impl std::fmt::Debug for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listen")
    }
}

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for Listen {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::RunQueryDsl;
        for c in CHANNELS {
            diesel::sql_query(format!("LISTEN {c}"))
                .execute(conn)
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        self.0.reset();
        Ok(())
    }
}
