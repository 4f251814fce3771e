//! The consents of recently asked-about patients, in memory: an ITI-18 or imaging request for a
//! patient whose consents are cached makes no consent round trip.
//!
//! Patients without any consent are cached too (an empty list): in an opt-out domain most are.
//! Entries are dropped when PostgreSQL notifies a change of the patient's consents (channel
//! `hiehub_consent`, sent by the `consent_history` triggers at commit; see `store::notify`) and
//! all of them on a [`Event::Reset`].
//!
//! Invariant: a lookup never returns consents older than the last change that reached this
//! process: a read that raced with a change (a notification arrived between the start of the
//! read and its insertion) is used for that one request but not kept.
//! Invariant: with the writer's own connection draining its notifications before its `Db::run`
//! returns, a consent registered, replaced, deprecated, removed or moved (merge) by this server
//! is in force for the next request — the same guarantee as reading the database every time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use diesel::PgConnection;

use super::engine::ConsentRecord;
use crate::store::notify::{Event, Subscriber};

/// The channel the consent triggers notify on.
pub const CHANNEL: &str = "hiehub_consent";

struct State {
    /// Bumped by every invalidation; a read inserts only if it has not moved since it began.
    generation: u64,
    map: HashMap<String, Arc<Vec<ConsentRecord>>>,
}

/// The cache (shared by an enforcer's clones; subscribed to its database's feed).
pub struct ConsentCache {
    state: Mutex<State>,
    capacity: usize,
}

impl std::fmt::Debug for ConsentCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentCache")
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl ConsentCache {
    /// A cache of at most `capacity` patients (0: no caching, every lookup reads the database).
    pub fn new(capacity: usize) -> ConsentCache {
        ConsentCache {
            state: Mutex::new(State {
                generation: 0,
                map: HashMap::new(),
            }),
            capacity,
        }
    }

    /// The consents (any status) of each of `patients`: from memory where cached, the others in
    /// one query.
    pub fn consents_of(
        &self,
        conn: &mut PgConnection,
        patients: &[String],
    ) -> diesel::QueryResult<HashMap<String, Vec<ConsentRecord>>> {
        let mut out: HashMap<String, Vec<ConsentRecord>> = HashMap::new();
        if self.capacity == 0 {
            return super::store::consents_of(conn, patients);
        }
        let (missing, generation) = {
            let st = self.lock();
            let mut missing = Vec::new();
            for p in patients {
                match st.map.get(p) {
                    Some(c) => {
                        if !c.is_empty() {
                            out.insert(p.clone(), c.as_ref().clone());
                        }
                    }
                    None => missing.push(p.clone()),
                }
            }
            (missing, st.generation)
        };
        if missing.is_empty() {
            return Ok(out);
        }
        let mut read = super::store::consents_of(conn, &missing)?;
        let mut st = self.lock();
        let keep = st.generation == generation;
        if keep && st.map.len() + missing.len() > self.capacity {
            // Full: start over rather than track recency (a hot set refills in one request each).
            st.map.clear();
        }
        for p in missing {
            let cs = read.remove(&p).unwrap_or_default();
            if keep {
                st.map.insert(p.clone(), Arc::new(cs.clone()));
            }
            if !cs.is_empty() {
                out.insert(p, cs);
            }
        }
        Ok(out)
    }

    /// The consents of `patient` when cached (no database work at all), else `None`.
    pub fn cached(&self, patient: &str) -> Option<Vec<ConsentRecord>> {
        if self.capacity == 0 {
            return None;
        }
        self.lock().map.get(patient).map(|c| c.as_ref().clone())
    }

    /// Forgets `patient`.
    pub fn invalidate(&self, patient: &str) {
        let mut st = self.lock();
        st.generation += 1;
        st.map.remove(patient);
    }

    /// Forgets everyone.
    pub fn clear(&self) {
        let mut st = self.lock();
        st.generation += 1;
        st.map.clear();
    }

    /// Patients cached now (for tests and `/metrics`).
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves a consistent map (every update is one insert or
        // remove): keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Subscriber for ConsentCache {
    fn notify(&self, event: Event<'_>) {
        match event {
            Event::Changed { channel, payload } if channel == CHANNEL => self.invalidate(payload),
            Event::Changed { .. } => {}
            Event::Reset => self.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_moves_the_generation_and_drops_the_patient() {
        let c = ConsentCache::new(10);
        {
            let mut st = c.lock();
            st.map.insert("p1".into(), Arc::new(Vec::new()));
            st.map.insert("p2".into(), Arc::new(Vec::new()));
        }
        assert_eq!(c.cached("p1"), Some(Vec::new()));
        c.notify(Event::Changed {
            channel: CHANNEL,
            payload: "p1",
        });
        assert_eq!(c.cached("p1"), None);
        assert_eq!(c.len(), 1);
        assert_eq!(c.lock().generation, 1);
        c.notify(Event::Changed {
            channel: "other",
            payload: "p2",
        });
        assert_eq!(c.len(), 1);
        c.notify(Event::Reset);
        assert!(c.is_empty());
        assert_eq!(c.lock().generation, 2);
        assert_eq!(ConsentCache::new(0).cached("p2"), None);
    }
}
