//! [`Alerts`]: one account's follow thread, its inbox and its actions.
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use client::{Backend, Heard, Stop};
use membership::{Error, ErrorKind, Event, Secret, Timestamp};
use serde::Serialize;

use crate::notice::{describe, Facts, PrivilegeRequestState, NOTIFIED_KINDS};
use crate::settings::{delivery, ClockTime, Delivery, Settings};
use crate::{AccessTokens, Action, Badge, Entry, Inbox, Notice, Notifier, Scope, Target};

/// The reason sent with Deny from a notification, where there is no field to type one. The
/// requester reads it in their mail and on their home screen.
pub const DEFAULT_DENY_REASON: &str =
    "Your program administrator did not accept this request. Ask them if you think this is a mistake.";

/// The time now, in UTC (for the age of an event) and as local wall-clock time (quiet hours).
pub type Clock = Arc<dyn Fn() -> (Timestamp, ClockTime) + Send + Sync>;

type Hook<T> = Option<Arc<dyn Fn(&T) + Send + Sync>>;

/// What the shell wants to hear. Each runs on a thread of the crate (see the crate docs).
#[derive(Clone, Default)]
pub struct Hooks {
    /// The counts changed (tray and inbox badge).
    pub changed: Hook<Badge>,
    /// The person chose Open: show the notice's [`Target`] (and the window).
    pub open: Hook<Notice>,
    /// An Approve or Deny finished, well or not ([`Alerts::act_in_background`]).
    pub acted: Hook<Acted>,
    /// The follow's state changed (for a status line in the inbox).
    pub status: Hook<Status>,
}

/// What became of an action.
#[derive(Debug)]
pub struct Acted {
    pub notice_id: i64,
    pub action: Action,
    /// The sentence to show (`"The request from Ada Lovelace was accepted. …"`), or why not.
    pub result: Result<String, Error>,
}

/// The state of the follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Not started, or starting.
    Idle,
    /// Connected: new events arrive as they happen.
    Following,
    /// The backend is out of reach; trying again.
    Reconnecting {
        message: String,
        retry_in_secs: u64,
    },
    /// The session ended: nothing is followed until the person signs in again.
    SignedOut {
        message: String,
    },
    /// Something other than the network failed (the inbox file); trying again.
    Failing {
        message: String,
    },
    Stopped,
}

/// Everything an [`Alerts`] needs.
pub struct Config {
    pub backend: Arc<dyn Backend>,
    pub tokens: Arc<dyn AccessTokens>,
    pub inbox: Arc<Inbox>,
    pub scope: Scope,
    pub settings: Settings,
    pub hooks: Hooks,
    /// `None`: the system clock and time zone.
    pub clock: Option<Clock>,
}

/// One account's notifications on one backend. Cheap to clone (all clones are one). Call
/// [`Alerts::stop`] when the person signs out or switches account: the follow thread holds it.
#[derive(Clone)]
pub struct Alerts {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    tokens: Arc<dyn AccessTokens>,
    inbox: Arc<Inbox>,
    scope: Scope,
    settings: Mutex<Settings>,
    hooks: Hooks,
    clock: Clock,
    notifier: RwLock<Option<Arc<dyn Notifier>>>,
    follow: Mutex<Option<(Stop, JoinHandle<()>)>>,
    status: Mutex<Status>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The longest wait before following again after a failure that is not the network's.
const MAX_RETRY: Duration = Duration::from_secs(60);

impl Alerts {
    /// Ready to follow; nothing runs until [`Alerts::start`].
    pub fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend: config.backend,
                tokens: config.tokens,
                inbox: config.inbox,
                scope: config.scope,
                settings: Mutex::new(config.settings),
                hooks: config.hooks,
                clock: config
                    .clock
                    .unwrap_or_else(|| Arc::new(|| (Timestamp::now_utc(), ClockTime::now_local()))),
                notifier: RwLock::new(None),
                follow: Mutex::new(None),
                status: Mutex::new(Status::Idle),
            }),
        }
    }

    /// Where new notices are shown; `None` keeps them in the inbox only. Set it before
    /// [`Alerts::start`] so the first events are shown too.
    pub fn set_notifier(&self, notifier: Option<Arc<dyn Notifier>>) {
        *self
            .inner
            .notifier
            .write()
            .unwrap_or_else(|e| e.into_inner()) = notifier;
    }

    /// What a [`Notifier`] calls when the person invokes an action: acts on a thread of its own.
    /// Holds the alerts weakly, so a notifier kept after them does not keep them alive.
    pub fn action_handler(&self) -> crate::OnAction {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        Arc::new(move |notice_id, action| {
            if let Some(inner) = weak.upgrade() {
                Alerts { inner }.act_in_background(notice_id, action);
            }
        })
    }

    /// Starts the follow thread (a no-op while it runs). It resumes after the inbox's cursor.
    pub fn start(&self) {
        let mut follow = lock(&self.inner.follow);
        if follow.as_ref().is_some_and(|(_, t)| !t.is_finished()) {
            return;
        }
        let stop = Stop::new();
        let inner = self.inner.clone();
        let run_stop = stop.clone();
        match std::thread::Builder::new()
            .name("alerts-follow".into())
            .spawn(move || inner.run(&run_stop))
        {
            Ok(thread) => *follow = Some((stop, thread)),
            Err(_) => self.inner.set_status(Status::Failing {
                message: "Partner Desk could not start following new requests. Restart the app."
                    .into(),
            }),
        }
    }

    /// Stops the follow thread and waits for it (at most the event in hand and a short tick).
    pub fn stop(&self) {
        let running = lock(&self.inner.follow).take();
        if let Some((stop, thread)) = running {
            stop.stop();
            let _ = thread.join();
        }
    }

    pub fn status(&self) -> Status {
        lock(&self.inner.status).clone()
    }

    pub fn scope(&self) -> &Scope {
        &self.inner.scope
    }

    pub fn settings(&self) -> Settings {
        *lock(&self.inner.settings)
    }

    /// New settings apply to the next event.
    pub fn set_settings(&self, settings: Settings) {
        *lock(&self.inner.settings) = settings;
    }

    /// The newest `limit` notices, newest first.
    pub fn entries(&self, limit: u32) -> Result<Vec<Entry>, Error> {
        self.inner.inbox.entries(&self.inner.scope, limit)
    }

    pub fn badge(&self) -> Result<Badge, Error> {
        self.inner.inbox.badge(&self.inner.scope)
    }

    pub fn mark_read(&self, notice_id: i64) -> Result<(), Error> {
        self.inner.inbox.mark_read(&self.inner.scope, notice_id)?;
        self.inner.changed();
        Ok(())
    }

    pub fn mark_all_read(&self) -> Result<(), Error> {
        self.inner.inbox.mark_all_read(&self.inner.scope)?;
        self.inner.changed();
        Ok(())
    }

    /// Carries out `action` on notice `notice_id` and answers with the sentence to show. Approve
    /// accepts the association request (or grants the privilege asked for), Deny denies it with
    /// [`DEFAULT_DENY_REASON`], Open marks it read and calls the `open` hook. A request decided
    /// elsewhere meanwhile is settled in the inbox, and the refusal says so. Blocks on the backend.
    pub fn act(&self, notice_id: i64, action: Action) -> Result<String, Error> {
        self.inner.act(notice_id, action)
    }

    /// [`Alerts::act`] on a thread of its own; the `acted` hook hears the result.
    pub fn act_in_background(&self, notice_id: i64, action: Action) {
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new()
            .name("alerts-act".into())
            .spawn(move || {
                let result = inner.act(notice_id, action);
                if let Err(e) = &result {
                    tracing::info!(code = e.code(), ?action, "a notification action failed");
                }
                if let Some(hook) = &inner.hooks.acted {
                    hook(&Acted {
                        notice_id,
                        action,
                        result,
                    });
                }
            });
        if spawned.is_err() {
            tracing::warn!("no thread for a notification action");
        }
    }

    /// Looks again at every notice still pending and settles those decided elsewhere (in the
    /// Membership Centre, by another administrator, or withdrawn). Call it when the inbox opens.
    pub fn recheck_pending(&self) -> Result<(), Error> {
        let inner = &self.inner;
        let pending = inner.inbox.pending(&inner.scope)?;
        let mut settled = false;
        for entry in pending {
            let still = inner.with_access(|backend, access| match &entry.notice.target {
                Target::AssociationRequest { request_id, .. } => {
                    backend.association_request(access, request_id).map(|r| {
                        (r.status == membership::RequestStatus::PendingApproval)
                            .then_some(())
                            .ok_or(r.status.as_str())
                    })
                }
                Target::PrivilegeRequest {
                    organisation_id,
                    membership_id,
                    privilege,
                } => backend
                    .privilege_requests(access, organisation_id)
                    .map(|list| {
                        list.iter()
                            .any(|p| &p.membership_id == membership_id && p.privilege == *privilege)
                            .then_some(())
                            .ok_or("closed")
                    }),
                _ => Ok(Err("closed")),
            });
            let outcome = match still {
                Ok(Ok(())) => continue,
                Ok(Err(status)) => format!(
                    "Dealt with elsewhere: the request is now {}.",
                    status.replace('_', " ")
                ),
                Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Forbidden) => {
                    e.message().to_owned()
                }
                Err(e) => return Err(e),
            };
            inner
                .inbox
                .settle(&inner.scope, entry.notice.id, &outcome)?;
            inner.withdraw(entry.notice.id);
            settled = true;
        }
        if settled {
            inner.changed();
        }
        Ok(())
    }
}

impl Inner {
    fn set_status(&self, status: Status) {
        let mut current = lock(&self.status);
        if *current == status {
            return;
        }
        *current = status.clone();
        drop(current);
        if let Some(hook) = &self.hooks.status {
            hook(&status);
        }
    }

    fn changed(&self) {
        if let (Some(hook), Ok(badge)) = (&self.hooks.changed, self.inbox.badge(&self.scope)) {
            hook(&badge);
        }
    }

    fn notifier(&self) -> Option<Arc<dyn Notifier>> {
        self.notifier
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn withdraw(&self, notice_id: i64) {
        if let Some(n) = self.notifier() {
            n.withdraw(notice_id);
        }
    }

    /// Calls the backend with the session's access token, renewing it once when refused.
    fn with_access<T>(
        &self,
        call: impl Fn(&dyn Backend, &Secret) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let access = self.tokens.access(None)?;
        match call(self.backend.as_ref(), &access) {
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                let renewed = self.tokens.access(Some(&access))?;
                call(self.backend.as_ref(), &renewed)
            }
            other => other,
        }
    }

    /// The follow thread: follows from the inbox's cursor, renews the session when the backend
    /// refuses it, and starts again after failures, until stopped or signed out.
    fn run(self: Arc<Self>, stop: &Stop) {
        let mut refused: Option<Secret> = None;
        let mut failures = 0u32;
        while !stop.is_stopped() {
            let access = match self.tokens.access(refused.as_ref()) {
                Ok(a) if refused.as_ref() != Some(&a) => a,
                Ok(_) => {
                    self.set_status(Status::SignedOut { message: "Your session has ended, so new requests are not followed. Sign in again to continue.".into() });
                    return;
                }
                Err(e) => {
                    self.set_status(Status::SignedOut {
                        message: e.message().to_owned(),
                    });
                    return;
                }
            };
            refused = None;
            let mut broke: Option<Error> = None;
            let result = self.inbox.cursor(&self.scope).and_then(|cursor| {
                self.backend
                    .follow_events(&access, cursor, stop, &mut |heard| match self
                        .hear(heard, &access)
                    {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(e) => {
                            broke = Some(e);
                            ControlFlow::Break(())
                        }
                    })
            });
            let failure = match (result, broke) {
                (Err(e), _) if e.kind() == ErrorKind::Unauthenticated => {
                    refused = Some(access);
                    continue;
                }
                (Err(e), _) | (Ok(()), Some(e)) => e,
                (Ok(()), None) => continue,
            };
            let wait = Duration::from_secs(1u64 << failures.min(6)).min(MAX_RETRY);
            failures = failures.saturating_add(1);
            tracing::warn!(
                code = failure.code(),
                "following events failed; trying again"
            );
            self.set_status(Status::Failing {
                message: failure.message().to_owned(),
            });
            if stop.sleep(wait) {
                break;
            }
        }
        self.set_status(Status::Stopped);
    }

    fn hear(&self, heard: Heard, access: &Secret) -> Result<(), Error> {
        match heard {
            Heard::Connected => self.set_status(Status::Following),
            Heard::Disconnected { error, retry_in } => self.set_status(Status::Reconnecting {
                message: error.message().to_owned(),
                retry_in_secs: retry_in.as_secs(),
            }),
            Heard::Event(event) => self.take_in(&event, access)?,
        }
        Ok(())
    }

    /// Files one event: its notice, if it makes one, with the cursor; shows the new ones.
    fn take_in(&self, event: &Event, access: &Secret) -> Result<(), Error> {
        let scope = &self.scope;
        if !NOTIFIED_KINDS.contains(&event.kind.as_str()) || self.inbox.contains(scope, event.id)? {
            self.inbox.take_in(scope, event.id, None, false)?;
            return Ok(());
        }
        let facts = self.facts(event, access);
        let Some(notice) = describe(event, &facts) else {
            self.inbox.take_in(scope, event.id, None, false)?;
            return Ok(());
        };
        let (now, local) = (self.clock)();
        let age = (now - event.at).try_into().unwrap_or(Duration::ZERO);
        let settings = *lock(&self.settings);
        let delivery = delivery(&settings, &notice, age, local);
        let new = self.inbox.take_in(
            scope,
            event.id,
            Some(&notice),
            delivery == Delivery::Settled,
        )?;
        if !new {
            return Ok(());
        }
        if delivery == Delivery::Notify {
            if let Some(notifier) = self.notifier() {
                match notifier.show(&notice) {
                    Ok(()) => self.inbox.mark_notified(scope, notice.id)?,
                    // The inbox has it; the OS not showing it loses nothing.
                    Err(e) => tracing::warn!(code = e.code(), "a notification was not shown"),
                }
            }
        }
        self.changed();
        Ok(())
    }

    /// What the event's data does not say, fetched through the backend. A failure leaves the
    /// fact out: the notice is then made from the event alone.
    fn facts(&self, event: &Event, access: &Secret) -> Facts {
        let field = |name: &str| {
            event
                .data
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let backend = self.backend.as_ref();
        let mut facts = Facts::default();
        match event.kind.as_str() {
            kind if kind.starts_with("association_request.") => {
                if let Some(id) = field("request_id") {
                    facts.request = backend.association_request(access, &id).ok();
                }
            }
            "privilege_request.created" | "privilege_request.expiring" => {
                if let Some(org) = field("organisation_id") {
                    facts.organisation_name =
                        backend.organisation(access, &org).ok().map(|o| o.name);
                    let id = field("privilege_request_id");
                    facts.privilege_request =
                        backend.privilege_requests(access, &org).ok().map(|list| {
                            let found = list
                                .into_iter()
                                .find(|p| Some(&p.privilege_request_id) == id.as_ref());
                            PrivilegeRequestState {
                                open: found.is_some(),
                                note: found.and_then(|p| p.note),
                            }
                        });
                }
            }
            "membership.privileges_changed"
            | "domain.verified"
            | "domain.suspended"
            | "domain.lapsed"
            | "domain.expired"
            | "domain.moved"
            | "domain.proof_requested" => {
                if let Some(org) = field("organisation_id") {
                    facts.organisation_name =
                        backend.organisation(access, &org).ok().map(|o| o.name);
                }
            }
            _ => {}
        }
        facts
    }

    fn act(&self, notice_id: i64, action: Action) -> Result<String, Error> {
        let scope = &self.scope;
        let entry = self.inbox.entry(scope, notice_id)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "notice_not_found",
                "That notification is no longer in your inbox. Open the Membership Centre to see the requests.",
            )
        })?;
        let notice = &entry.notice;
        if action == Action::Open {
            self.inbox.mark_read(scope, notice_id)?;
            if let Some(hook) = &self.hooks.open {
                hook(notice);
            }
            self.changed();
            return Ok(String::new());
        }
        if !notice.actions.contains(&action) {
            return Err(Error::new(
                ErrorKind::BadRequest,
                "action_not_offered",
                format!("\u{201c}{}\u{201d} is not something you can do with this notification. Open it to see what you can do.", notice.label(action)),
            ));
        }
        if !entry.pending {
            return Err(Error::new(
                ErrorKind::Conflict,
                "already_settled",
                match &entry.outcome {
                    Some(o) => format!("This request was already dealt with: {o}"),
                    None => {
                        "This request was already dealt with. Open the Membership Centre to see it."
                            .to_owned()
                    }
                },
            ));
        }
        let result = self.with_access(|backend, access| match (action, &notice.target) {
            (Action::Approve, Target::AssociationRequest { request_id, .. }) => {
                backend.approve(access, request_id).map(|r| {
                    format!(
                        "The request from {} {} was accepted. A verification email went to {}.",
                        r.first_name, r.last_name, r.organisation_email
                    )
                })
            }
            (Action::Deny, Target::AssociationRequest { request_id, .. }) => backend
                .deny(access, request_id, DEFAULT_DENY_REASON)
                .map(|r| {
                    format!(
                        "The request from {} {} was denied. They will see your reason.",
                        r.first_name, r.last_name
                    )
                }),
            (
                Action::Approve,
                Target::PrivilegeRequest {
                    membership_id,
                    privilege,
                    ..
                },
            ) => backend
                .grant_privilege(access, membership_id, *privilege)
                .map(|m| format!("{} was granted to {}.", privilege.title(), m.display_name)),
            _ => Err(Error::new(
                ErrorKind::BadRequest,
                "action_not_offered",
                "This notification offers no such action. Open it to see what you can do.",
            )),
        });
        match result {
            Ok(sentence) => {
                self.inbox.settle(scope, notice_id, &sentence)?;
                self.withdraw(notice_id);
                self.changed();
                Ok(sentence)
            }
            // Decided, withdrawn or removed meanwhile: nothing is pending any more.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Conflict | ErrorKind::NotFound | ErrorKind::Gone
                ) =>
            {
                self.inbox.settle(scope, notice_id, e.message())?;
                self.withdraw(notice_id);
                self.changed();
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
