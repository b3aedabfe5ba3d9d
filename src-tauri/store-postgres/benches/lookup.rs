//! Lookup over a large directory on both stores, side by side in one run: the same generated
//! organisations imported through the service into SQLite and into PostgreSQL (a throwaway
//! cluster, testkit), then the same queries through `Programme::lookup` on each. The SQLite
//! figures are the floor the PostgreSQL ones are read against; both stores must give the same hits.
//!
//! Run: `cargo bench -p partner-desk-store-postgres --bench lookup`. `LOOKUP_BENCH_ORGS` sets the
//! directory size (default 1,000,000), `LOOKUP_BENCH_ROUNDS` the rounds of the query set (300).
use std::sync::Arc;
use std::time::{Duration, Instant};

use membership::seed::{seed_demo, synthetic_directory, typical_lookups, DEMO_PASSWORD};
use membership::store::sqlite::SqliteStore;
use membership::store::Store;
use membership::{Caller, Config, Mail, MailError, Mailer, Programme, Secret, Timestamp};
use store_postgres::PgStore;

struct NoMail;
impl Mailer for NoMail {
    fn send(&self, _: &Mail) -> Result<(), MailError> {
        Ok(())
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn prepare<S: Store>(name: &str, store: S, n: usize) -> (Programme<S>, Caller) {
    let p = Programme::with_store(store, Arc::new(NoMail), Config::default());
    let now = Timestamp::now_utc();
    let t = Instant::now();
    seed_demo(&p, now).unwrap();
    p.import_organisations(&synthetic_directory(n), now)
        .unwrap();
    eprintln!(
        "{name}: imported {n} organisations in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let s = p
        .sign_in("staff@example.net", &Secret::new(DEMO_PASSWORD), now)
        .unwrap();
    let caller = p.authenticate(&s.access_token, now).unwrap();
    (p, caller)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing and only checks that
    // this builds and runs, on a small directory.
    let benching = std::env::args().any(|a| a == "--bench");
    let n = env(
        "LOOKUP_BENCH_ORGS",
        if benching { 1_000_000 } else { 1_000 },
    );
    let rounds = env("LOOKUP_BENCH_ROUNDS", if benching { 300 } else { 3 });
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, sqlite_caller) = prepare(
        "sqlite",
        SqliteStore::open(&dir.path().join("lookup.sqlite3")).unwrap(),
        n,
    );
    let url = testkit::postgres::Cluster::shared().fresh_database();
    let (pg, pg_caller) = prepare("postgres", PgStore::connect(&url).unwrap(), n);
    // PostgreSQL plans from statistics: gather them after the import, as autovacuum would.
    let name = url.rsplit('/').next().unwrap();
    testkit::postgres::Cluster::shared().psql(name, "ANALYZE");

    let qs = typical_lookups();
    let (mut on_sqlite, mut on_pg) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for q in &qs {
            let t = Instant::now();
            let a = sqlite.lookup(&sqlite_caller, q).unwrap();
            on_sqlite.push(t.elapsed());
            let t = Instant::now();
            let b = pg.lookup(&pg_caller, q).unwrap();
            on_pg.push(t.elapsed());
            let names = |p: &membership::Page<membership::OrganisationSummary>| {
                p.items.iter().map(|o| o.name.clone()).collect::<Vec<_>>()
            };
            assert_eq!(
                names(&a),
                names(&b),
                "both stores give the same hits for {q:?}"
            );
        }
    }
    on_sqlite.sort();
    on_pg.sort();
    let (s50, s99) = (percentile(&on_sqlite, 0.5), percentile(&on_sqlite, 0.99));
    let (p50, p99) = (percentile(&on_pg, 0.5), percentile(&on_pg, 0.99));
    println!(
        "lookup over {n} organisations, {} queries ({rounds} rounds of {}), through Programme::lookup:",
        on_sqlite.len(),
        qs.len()
    );
    println!(
        "  sqlite     p50 {:>7.3} ms  p99 {:>7.3} ms",
        ms(s50),
        ms(s99)
    );
    println!(
        "  postgresql p50 {:>7.3} ms  p99 {:>7.3} ms  ({:.2}x and {:.2}x sqlite's)",
        ms(p50),
        ms(p99),
        ms(p50) / ms(s50),
        ms(p99) / ms(s99)
    );
}
