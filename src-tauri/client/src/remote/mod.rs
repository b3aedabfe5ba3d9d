//! A partner programme's membership server, over the HTTP API of API.md.
mod errors;
mod operations;
mod retry;
mod stream;

use std::sync::Arc;
use std::time::{Duration, Instant};

use membership::{Error, ErrorKind, Secret};
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_MATCH, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use errors::Failure;
pub use errors::UNREACHABLE;
pub(crate) use retry::unit_random;
pub use retry::RetryPolicy;
use retry::{Attempt, Repeat};

/// Settings of a [`Remote`].
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// How long to wait for the connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// How long one attempt may take, the answer included.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

/// [`crate::Backend`] over HTTP: a blocking client on rustls, with timeouts, and retries with
/// backoff for the calls that are safe to repeat. Creating writes carry an `Idempotency-Key`,
/// fresh for each call and the same on its retries, so a retry never creates twice.
pub struct Remote {
    base: Url,
    /// The base as people wrote it, for messages (never holds credentials: refused in `new`).
    shown: String,
    http: Client,
    retry: RetryPolicy,
    #[cfg(feature = "test-hooks")]
    hooks: hooks::Hooks,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("base", &self.shown).finish()
    }
}

fn invalid_url(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Invalid, "invalid_server_url", message)
}

/// Checks a server URL as a person typed it: `http` or `https`, a host, no user name or password,
/// no query or fragment. The answer ends with `/`, so paths join under it.
pub fn parse_base_url(raw: &str) -> Result<Url, Error> {
    let raw = raw.trim();
    let url = Url::parse(raw).map_err(|_| {
        invalid_url(format!(
            "\u{201c}{raw}\u{201d} is not a web address. Enter the server's address, such as https://members.example.com."
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(format!(
            "Partner Desk talks to its server over http or https only, not \u{201c}{}\u{201d}. Enter an address that starts with https:// (or http:// for a server on this computer).",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid_url(
            "The server address has no host name. Enter it in full, such as https://members.example.com.",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid_url(
            "Do not put a user name or password in the server address: Partner Desk signs in with your account instead. Remove them and try again.",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid_url(
            "The server address cannot have a ? or # part. Enter only the address of the server.",
        ));
    }
    let mut url = url;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn tls_config() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    // Certificates the system trusts; a bad one in the store is skipped, not fatal.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

impl Remote {
    /// A client of the server at `base_url` (`http` or `https`), with the default timeouts and
    /// retries. Nothing is sent yet: [`crate::Backend::health`] tells whether it answers.
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::with_options(base_url, RemoteOptions::default())
    }

    pub fn with_options(base_url: &str, options: RemoteOptions) -> Result<Self, Error> {
        let base = parse_base_url(base_url)?;
        let http = Client::builder()
            .tls_backend_preconfigured(tls_config())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("partner-desk/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the bearer token to another host; the server never sends one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| {
                Error::new(
                    ErrorKind::Internal,
                    "client_unavailable",
                    "Partner Desk could not set up its network connection. Restart the app; if it goes on, reinstall it.",
                )
            })?;
        Ok(Self {
            shown: base.as_str().trim_end_matches('/').to_owned(),
            base,
            http,
            retry: options.retry,
            #[cfg(feature = "test-hooks")]
            hooks: hooks::Hooks::default(),
        })
    }

    /// The server's address, as validated.
    pub fn base_url(&self) -> &str {
        &self.shown
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("an http(s) URL has a path");
            path.pop_if_empty();
            // Each segment is percent-encoded: ids and domains can hold any character.
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// Sends `call`, retrying as its [`Repeat`] allows, and reads a success as `T`.
    fn run<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, Error> {
        let body = self.exchange(call)?;
        let body = if body.is_empty() {
            b"null".to_vec()
        } else {
            body
        };
        serde_json::from_slice(&body).map_err(|_| errors::unreadable_answer(&self.shown))
    }

    /// Sends `call` for a success without a body.
    fn run_empty(&self, call: Call<'_>) -> Result<(), Error> {
        self.exchange(call).map(drop)
    }

    fn exchange(&self, call: Call<'_>) -> Result<Vec<u8>, Error> {
        let url = self.url(&call.path, &call.query);
        let body = call.body.as_ref().map(|b| b.to_string().into_bytes());
        // One key per logical call, reused by its retries: that is what makes them safe. A key
        // the caller brings (an offline edit's) is used as is.
        let key = call
            .key
            .map(str::to_owned)
            .or_else(|| call.creates.then(|| self.idempotency_key()));
        let repeat = match call.method {
            _ if call.once => Repeat::Once,
            _ if call.key.is_some() => Repeat::Safe,
            Method::GET | Method::PUT | Method::DELETE => Repeat::Safe,
            Method::POST if call.creates || call.safe => Repeat::Safe,
            _ => Repeat::Once,
        };
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(call.method.clone(), url.clone());
            request = request.header(ACCEPT, "application/json");
            if let Some(access) = call.access {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", access.expose()))
                    .map_err(|_| unauthenticated())?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            if let Some(revision) = call.if_match {
                request = request.header(IF_MATCH, format!("\"{revision}\""));
            }
            if let Some(key) = &key {
                request = request.header("Idempotency-Key", key.as_str());
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = self.attempt(request);
            let (delay, result) = match outcome {
                Ok((status, retry_after, bytes)) => {
                    let delay = self.retry.next_delay(
                        repeat,
                        attempt,
                        Attempt::Status {
                            status,
                            retry_after,
                        },
                        retry::unit_random(),
                    );
                    let result = if (200..300).contains(&status) {
                        Ok(bytes)
                    } else {
                        Err(errors::refusal(status, retry_after, &bytes))
                    };
                    tracing::debug!(
                        method = %call.method,
                        path = call.route,
                        status,
                        attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "membership server answered"
                    );
                    (delay, result)
                }
                Err(failure) => {
                    tracing::debug!(
                        method = %call.method,
                        path = call.route,
                        ?failure,
                        attempt,
                        "membership server not reached"
                    );
                    let delay = self.retry.next_delay(
                        repeat,
                        attempt,
                        Attempt::Transport,
                        retry::unit_random(),
                    );
                    (delay, Err(errors::unreachable(&self.shown, failure)))
                }
            };
            match (result, delay) {
                (Ok(bytes), _) => return Ok(bytes),
                (Err(_), Some(delay)) => {
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                // The first answer to a keyed create is still being made: ask again for it.
                (Err(e), _)
                    if key.is_some()
                        && e.code() == "idempotency_key_in_progress"
                        && attempt + 1 < self.retry.max_attempts =>
                {
                    std::thread::sleep(self.retry.backoff(attempt, retry::unit_random()));
                    attempt += 1;
                }
                (Err(e), _) => return Err(e),
            }
        }
    }

    /// One attempt: the status, `Retry-After` in seconds, and the whole body.
    fn attempt(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<(u16, Option<u64>, Vec<u8>), Failure> {
        #[cfg(feature = "test-hooks")]
        self.hooks.count_attempt();
        let response: Response = request.send().map_err(|e| {
            if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Lost
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = response.bytes().map_err(|_| Failure::Lost)?.to_vec();
        #[cfg(feature = "test-hooks")]
        if self.hooks.lose_answer() {
            return Err(Failure::Lost);
        }
        Ok((status, retry_after, bytes))
    }

    fn idempotency_key(&self) -> String {
        #[cfg(feature = "test-hooks")]
        if let Some(key) = self.hooks.fixed_key() {
            return key;
        }
        retry::idempotency_key()
    }
}

fn unauthenticated() -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        "unauthenticated",
        "You are not signed in, or your session has ended. Sign in again to continue.",
    )
}

/// One API operation, as the transport needs it.
struct Call<'a> {
    method: Method,
    /// The route as API.md writes it, for logs: ids, domains and queries stay out of them.
    route: &'static str,
    path: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    access: Option<&'a Secret>,
    body: Option<serde_json::Value>,
    if_match: Option<u64>,
    /// A creating write: sends an `Idempotency-Key`, so it may be retried.
    creates: bool,
    /// The caller's own `Idempotency-Key` for this write, so it may be retried too.
    key: Option<&'a str>,
    /// A POST that changes nothing (the association preview), so it may be retried.
    safe: bool,
    /// Never retried, even if it could be (the health check wants a quick answer).
    once: bool,
}

impl<'a> Call<'a> {
    fn new(method: Method, route: &'static str, path: Vec<&'a str>) -> Self {
        Self {
            method,
            route,
            path,
            query: Vec::new(),
            access: None,
            body: None,
            if_match: None,
            creates: false,
            key: None,
            safe: false,
            once: false,
        }
    }

    fn get(route: &'static str, path: Vec<&'a str>) -> Self {
        Self::new(Method::GET, route, path)
    }

    fn post(route: &'static str, path: Vec<&'a str>) -> Self {
        Self::new(Method::POST, route, path)
    }

    fn by(mut self, access: &'a Secret) -> Self {
        self.access = Some(access);
        self
    }

    fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body);
        self
    }

    fn query(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(v) = value {
            self.query.push((name, v.to_string()));
        }
        self
    }

    fn creating(mut self) -> Self {
        self.creates = true;
        self
    }

    fn read_only(mut self) -> Self {
        self.safe = true;
        self
    }

    fn once(mut self) -> Self {
        self.once = true;
        self
    }
}

#[cfg(feature = "test-hooks")]
mod hooks {
    //! Fault injection for the contract suite: lose answers after the server made them, pin the
    //! `Idempotency-Key`, count attempts.
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    pub struct Hooks {
        lose: AtomicU32,
        attempts: AtomicU64,
        key: Mutex<Option<String>>,
    }

    impl Hooks {
        pub fn count_attempt(&self) {
            self.attempts.fetch_add(1, Ordering::SeqCst);
        }

        pub fn lose_answer(&self) -> bool {
            self.lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        }

        pub fn fixed_key(&self) -> Option<String> {
            self.key.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
    }

    impl super::Remote {
        /// Throws away the next `n` answers after the server has made them, as a dropped
        /// connection would: the call then retries if it is safe to.
        pub fn lose_next_answers(&self, n: u32) {
            self.hooks.lose.store(n, Ordering::SeqCst);
        }

        /// Sends `key` as the `Idempotency-Key` of every creating write (None: fresh keys again).
        pub fn pin_idempotency_key(&self, key: Option<&str>) {
            *self.hooks.key.lock().unwrap_or_else(|e| e.into_inner()) = key.map(str::to_owned);
        }

        /// HTTP attempts made so far, retries included.
        pub fn attempts(&self) -> u64 {
            self.hooks.attempts.load(Ordering::SeqCst)
        }
    }
}
