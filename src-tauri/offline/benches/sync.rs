//! 1,000 profile edits queued offline, then synced against the real server binary over loopback,
//! beside the same number of plain `update_profile` calls in the same run (the floor: what the
//! edits cost without an outbox), and the same edits each synced as soon as it is saved (the
//! outbox's cost per edit when nothing can go together). Prints the median of a few interleaved
//! rounds of each and their ratios, then criterion's figures for the first two.
//!
//! Run: `cargo bench -p partner-desk-offline --bench sync` (`SYNC_BENCH_EDITS`, default 1000;
//! `SYNC_BENCH_ROUNDS`, default 5). The server binary is built in release first if needed (see
//! `testkit::server_binary`).
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Backend, Remote};
use criterion::{criterion_group, Criterion};
use membership::{Secret, Timestamp};
use offline::{Field, LocalStore, Outcome, ProfileEdit, Scope, SyncEngine};
use testkit::{TestServer, DEMO_PASSWORD};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bench {
    _server: TestServer,
    remote: Remote,
    token: Secret,
    account: String,
    membership: String,
    edits: usize,
}

impl Bench {
    fn start() -> Self {
        let server = TestServer::start();
        let remote = Remote::new(server.base()).expect("valid URL");
        let token = remote
            .sign_in("ppc@contoso.com", &Secret::new(DEMO_PASSWORD))
            .expect("demo sign-in")
            .access_token;
        let me = remote.me(&token).expect("me");
        Self {
            membership: me.memberships[0].membership_id.clone(),
            account: me.account.account_id,
            _server: server,
            remote,
            token,
            edits: env("SYNC_BENCH_EDITS", 1000),
        }
    }

    /// A new local store with the profile fetched, and its engine (not timed).
    fn fresh_engine(&self) -> (tempfile::TempDir, Arc<LocalStore>, SyncEngine, Timestamp) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(LocalStore::open(&dir.path().join("local.sqlite3")).expect("opens"));
        let engine = SyncEngine::new(store.clone(), Scope::new("bench", self.account.clone()));
        let now = Timestamp::now_utc();
        assert_eq!(
            engine
                .refresh(&self.remote, &self.token, now)
                .expect("refresh"),
            Outcome::Done
        );
        (dir, store, engine, now)
    }

    /// Queues the edits in a new local store (not timed), then times one sync of them all.
    fn offline_sync(&self, round: usize) -> Duration {
        let (_dir, store, engine, now) = self.fresh_engine();
        for i in 0..self.edits {
            let mut edit = ProfileEdit::new();
            edit.set(Field::JobTitle, &format!("Offline {round}-{i}"))
                .expect("valid");
            store
                .save_edit(engine.scope(), &self.membership, &edit, now)
                .expect("queued");
        }
        let started = Instant::now();
        let report = engine
            .run(&self.remote, &self.token, now, &mut |_| {})
            .expect("sync");
        let took = started.elapsed();
        assert_eq!(
            (report.outcome, report.applied),
            (Outcome::Done, self.edits)
        );
        took
    }

    /// The same edits, each synced on its own as soon as it is saved (as when the person is
    /// online): nothing to put together, so this is the outbox's cost per edit. Only the sync
    /// runs are timed.
    fn one_by_one(&self, round: usize) -> Duration {
        let (_dir, store, engine, now) = self.fresh_engine();
        let mut took = Duration::ZERO;
        for i in 0..self.edits {
            let mut edit = ProfileEdit::new();
            edit.set(Field::JobTitle, &format!("Online {round}-{i}"))
                .expect("valid");
            store
                .save_edit(engine.scope(), &self.membership, &edit, now)
                .expect("queued");
            let started = Instant::now();
            let report = engine
                .run(&self.remote, &self.token, now, &mut |_| {})
                .expect("sync");
            took += started.elapsed();
            assert_eq!((report.outcome, report.applied), (Outcome::Done, 1));
        }
        took
    }

    /// The same number of edits sent directly, each on the revision the last one returned; with
    /// `keyed`, each under its own `Idempotency-Key` (the server's share of the exactly-once cost).
    fn plain_updates(&self, round: usize, keyed: bool) -> Duration {
        let mut revision = self
            .remote
            .profile(&self.token, &self.membership)
            .expect("profile")
            .revision;
        let started = Instant::now();
        for i in 0..self.edits {
            let mut edit = ProfileEdit::new();
            edit.set(Field::JobTitle, &format!("Plain {round}-{i}"))
                .expect("valid");
            let patch = edit.to_patch();
            let updated = if keyed {
                let key = format!("bench-{round}-{i}-{}", self.account);
                self.remote.update_profile_keyed(
                    &self.token,
                    &self.membership,
                    revision,
                    &patch,
                    &key,
                )
            } else {
                self.remote
                    .update_profile(&self.token, &self.membership, revision, &patch)
            };
            revision = updated.expect("updated").revision;
        }
        started.elapsed()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let b = Bench::start();
    let rounds = env("SYNC_BENCH_ROUNDS", 5).max(1);
    let (mut sync, mut plain, mut keyed, mut alone) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        sync.push(b.offline_sync(round));
        plain.push(b.plain_updates(round, false));
        keyed.push(b.plain_updates(round, true));
        alone.push(b.one_by_one(round));
    }
    let (s, p, k, a) = (median(sync), median(plain), median(keyed), median(alone));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("{} edits, median of {rounds} interleaved rounds:", b.edits);
    println!(
        "  offline sync        {:8.1} ms  ({:.3} ms an edit)",
        ms(s),
        ms(s) / b.edits as f64
    );
    println!(
        "  plain update_profile {:7.1} ms  ({:.3} ms an edit)",
        ms(p),
        ms(p) / b.edits as f64
    );
    println!(
        "  keyed update_profile {:7.1} ms  ({:.3} ms an edit)",
        ms(k),
        ms(k) / b.edits as f64
    );
    println!(
        "  one edit a run      {:8.1} ms  ({:.3} ms an edit)",
        ms(a),
        ms(a) / b.edits as f64
    );
    println!(
        "  ratio offline sync / plain {:.2}x (keyed / plain {:.2}x, one edit a run / plain {:.2}x)",
        ms(s) / ms(p),
        ms(k) / ms(p),
        ms(a) / ms(p)
    );

    let mut g = c.benchmark_group(format!("sync_{}_edits", b.edits));
    let mut round = rounds;
    g.bench_function("offline_sync", |bencher| {
        bencher.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    b.offline_sync(round)
                })
                .sum()
        })
    });
    g.bench_function("plain_update_profile", |bencher| {
        bencher.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    b.plain_updates(round, false)
                })
                .sum()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(1));
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
