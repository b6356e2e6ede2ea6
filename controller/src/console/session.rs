//! Console sessions: a server-side map from a random session id (the cookie's value) to the
//! operator it speaks for, its CSRF token and its expiry. Nothing but the id reaches the
//! browser, so signing out or expiring a session ends it at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use rand::Rng;
use uuid::Uuid;

/// The session cookie's name.
pub const COOKIE: &str = "coin_console";

/// One signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The operator's user id (the token's subject).
    pub user_id: Uuid,
    /// The token every state-changing form must carry as `csrf`.
    pub csrf: String,
    /// When the session ends.
    pub expires_at: Instant,
    /// A message for the next page shown (what the last action did).
    pub flash: Option<String>,
}

impl Session {
    /// The hidden `csrf` field every state-changing form of this session carries.
    pub fn csrf_field(&self) -> maud::Markup {
        maud::html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// Every live session; cheap to clone.
#[derive(Debug, Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
    ttl: Duration,
}

impl Sessions {
    /// An empty store whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::default(),
            ttl,
        }
    }

    /// How long a session lasts (the cookie's `Max-Age`).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock cannot leave a half-written session behind.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a session for `user_id`; returns its id. Expired sessions are dropped here.
    pub fn create(&self, user_id: Uuid) -> String {
        self.create_at(user_id, Instant::now(), self.ttl)
    }

    /// Starts a session that lasts no longer than `at_most` (what is left of the token it was
    /// signed in with); returns its id and how long it lasts.
    pub fn create_within(&self, user_id: Uuid, at_most: Duration) -> (String, Duration) {
        let ttl = self.ttl.min(at_most);
        (self.create_at(user_id, Instant::now(), ttl), ttl)
    }

    fn create_at(&self, user_id: Uuid, now: Instant, ttl: Duration) -> String {
        let id = random_token();
        let session = Session {
            user_id,
            csrf: random_token(),
            expires_at: now + ttl,
            flash: None,
        };
        let mut map = self.map();
        map.retain(|_, s| s.expires_at > now);
        map.insert(id.clone(), session);
        id
    }

    /// The live session `id`, if any; an expired one is removed.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.get_at(id, Instant::now())
    }

    fn get_at(&self, id: &str, now: Instant) -> Option<Session> {
        let mut map = self.map();
        match map.get(id) {
            Some(s) if s.expires_at > now => Some(s.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        self.map().remove(id);
    }

    /// Leaves `message` for the next page session `id` sees.
    pub fn set_flash(&self, id: &str, message: impl Into<String>) {
        if let Some(s) = self.map().get_mut(id) {
            s.flash = Some(message.into());
        }
    }

    /// Takes the message left for session `id`.
    pub fn take_flash(&self, id: &str) -> Option<String> {
        self.map().get_mut(id).and_then(|s| s.flash.take())
    }
}

/// Whether `given` is the session's CSRF token, compared in constant time.
pub fn csrf_matches(session: &Session, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (session.csrf.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes from the thread's CSPRNG, as 64 hex digits.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in a `Cookie` header, if present.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(id: &str, ttl: Duration) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use crate::console::session::*;

    #[test]
    fn a_session_is_found_by_its_id_until_it_expires() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let now = Instant::now();
        let user = Uuid::now_v7();
        let id = sessions.create_at(user, now, sessions.ttl());
        let found = sessions.get_at(&id, now + Duration::from_secs(59));
        assert_eq!(found.map(|s| s.user_id), Some(user));
        assert_eq!(sessions.get_at(&id, now + Duration::from_secs(60)), None);
        assert_eq!(
            sessions.get_at(&id, now),
            None,
            "an expired session is gone"
        );
    }

    #[test]
    fn ids_and_csrf_tokens_are_random_and_distinct() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (a, b) = (
            sessions.create(Uuid::now_v7()),
            sessions.create(Uuid::now_v7()),
        );
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let (sa, sb) = (sessions.get(&a).expect("a"), sessions.get(&b).expect("b"));
        assert_ne!(sa.csrf, sb.csrf);
        assert_ne!(sa.csrf, a, "the CSRF token is not the session id");
    }

    #[test]
    fn only_the_sessions_own_csrf_token_matches() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let a = sessions.get(&sessions.create(Uuid::now_v7())).expect("a");
        let b = sessions.get(&sessions.create(Uuid::now_v7())).expect("b");
        assert!(csrf_matches(&a, Some(&a.csrf)));
        assert!(!csrf_matches(&a, Some(&b.csrf)), "another session's token");
        assert!(!csrf_matches(&a, None));
        assert!(!csrf_matches(&a, Some("")));
        assert!(!csrf_matches(&a, Some(&a.csrf[..63])), "a prefix");
    }

    #[test]
    fn signing_out_ends_the_session_and_expired_ones_are_pruned() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let now = Instant::now();
        let old = sessions.create_at(Uuid::now_v7(), now, sessions.ttl());
        let id = sessions.create_at(
            Uuid::now_v7(),
            now + Duration::from_secs(61),
            sessions.ttl(),
        );
        assert_eq!(sessions.map().len(), 1, "the expired session was pruned");
        assert!(!sessions.map().contains_key(&old));
        sessions.remove(&id);
        assert_eq!(sessions.get(&id), None);
    }

    #[test]
    fn a_session_ends_no_later_than_the_token_it_was_signed_in_with() {
        let sessions = Sessions::new(Duration::from_secs(3600));
        let (id, ttl) = sessions.create_within(Uuid::now_v7(), Duration::from_secs(120));
        assert_eq!(ttl, Duration::from_secs(120));
        let session = sessions.get(&id).expect("live");
        assert!(session.expires_at <= Instant::now() + Duration::from_secs(120));
        let (_, long) = sessions.create_within(Uuid::now_v7(), Duration::from_secs(86_400));
        assert_eq!(
            long,
            Duration::from_secs(3600),
            "CONSOLE_SESSION_MINUTES caps it"
        );
    }

    #[test]
    fn a_flash_message_is_shown_once() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let id = sessions.create(Uuid::now_v7());
        sessions.set_flash(&id, "paused goodwill");
        assert_eq!(sessions.take_flash(&id).as_deref(), Some("paused goodwill"));
        assert_eq!(sessions.take_flash(&id), None);
    }

    #[test]
    fn the_session_cookie_is_read_among_others_and_set_strict_and_http_only() {
        let header = "theme=dark; coin_console=abc123 ; other=x";
        assert_eq!(cookie(header, COOKIE), Some("abc123"));
        assert_eq!(cookie("theme=dark", COOKIE), None);
        assert_eq!(cookie("", COOKIE), None);
        let set = set_cookie("abc", Duration::from_secs(3600));
        for part in ["HttpOnly", "SameSite=Strict", "Max-Age=3600", "Path=/"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
