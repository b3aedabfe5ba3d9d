//! Lookup over a directory of a million organisations, through the service and beside the same
//! query written directly against SQLite on the same database (the floor).
//!
//! Run: `cargo bench -p partner-desk-membership --bench lookup`. Set `LOOKUP_BENCH_ORGS` for
//! another directory size (default 1,000,000), or several separated by commas for the curve of
//! cost against size (`10000,100000,1000000,10000000`: percentiles for each, then a table; no
//! criterion runs). Each generated database is kept in `target/bench-data/` and reused by later
//! runs.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use membership::seed::{seed_demo, synthetic_directory, typical_lookups, DEMO_PASSWORD};
use membership::{Caller, LookupQuery, Mail, MailError, Mailer, Programme, Secret, Timestamp};

struct NoMail;
impl Mailer for NoMail {
    fn send(&self, _: &Mail) -> Result<(), MailError> {
        Ok(())
    }
}

/// The directory sizes to measure, from `LOOKUP_BENCH_ORGS`.
fn sizes() -> Vec<usize> {
    let sizes: Vec<usize> = std::env::var("LOOKUP_BENCH_ORGS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.trim().replace('_', "").parse().ok())
        .collect();
    if sizes.is_empty() {
        vec![1_000_000]
    } else {
        sizes
    }
}

fn database(n: usize) -> (PathBuf, Programme, Caller) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("lookup-{n}.sqlite3"));
    let now = Timestamp::now_utc();
    let fresh = !path.exists();
    let p = Programme::open(&path, Arc::new(NoMail)).unwrap();
    if fresh || p.is_empty().unwrap() {
        let t = Instant::now();
        seed_demo(&p, now).unwrap();
        p.import_organisations(&synthetic_directory(n), now)
            .unwrap();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "INSERT INTO organisations_fts(organisations_fts) VALUES ('optimize'); ANALYZE;",
        )
        .unwrap();
        eprintln!(
            "generated {n} organisations in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let s = p
        .sign_in("staff@example.net", &Secret::new(DEMO_PASSWORD), now)
        .unwrap();
    let caller = p.authenticate(&s.access_token, now).unwrap();
    (path, p, caller)
}

/// The floor: what the service's query costs when written by hand against SQLite.
fn floor(conn: &rusqlite::Connection, q: &LookupQuery) -> usize {
    let mut rows = 0;
    if let Some(pid) = &q.partner_id {
        let mut s = conn.prepare_cached("SELECT seq, id, partner_id, name, city, country FROM organisations WHERE partner_id = ?1 LIMIT 21").unwrap();
        rows += s.query_map([pid], |r| r.get::<_, i64>(0)).unwrap().count();
        return rows;
    }
    let text = q.q.as_deref().unwrap();
    let fts: Vec<String> = text.split(' ').map(|w| format!("\"{w}\"*")).collect();
    let fts = fts.join(" AND ");
    match &q.country {
        Some(country) => {
            let mut s = conn
                .prepare_cached(
                    "SELECT o.seq, o.id, o.partner_id, o.name, o.city, o.country FROM organisations_fts f JOIN organisations o ON o.seq = f.rowid
                     WHERE organisations_fts MATCH ?1 AND o.country = ?2 COLLATE NOCASE ORDER BY f.rowid LIMIT 21",
                )
                .unwrap();
            rows += s
                .query_map(rusqlite::params![fts, country], |r| r.get::<_, i64>(0))
                .unwrap()
                .count();
        }
        None => {
            let mut s = conn
                .prepare_cached(
                    "SELECT o.seq, o.id, o.partner_id, o.name, o.city, o.country FROM organisations_fts f JOIN organisations o ON o.seq = f.rowid
                     WHERE organisations_fts MATCH ?1 ORDER BY f.rowid LIMIT 21",
                )
                .unwrap();
            rows += s.query_map([fts], |r| r.get::<_, i64>(0)).unwrap().count();
        }
    }
    rows
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// p50 and p99 of the service and of the floor, in milliseconds.
#[derive(Clone, Copy)]
struct Figures {
    service: (f64, f64),
    floor: (f64, f64),
}

/// p50 and p99 over every query, many rounds, for the service and the floor.
fn print_percentiles(n: usize, path: &PathBuf, p: &Programme, caller: &Caller) -> Figures {
    let conn = rusqlite::Connection::open(path).unwrap();
    let qs = typical_lookups();
    let rounds = 300;
    let (mut svc, mut flo) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for q in &qs {
            let t = Instant::now();
            let page = p.lookup(caller, q).unwrap();
            svc.push(t.elapsed());
            let t = Instant::now();
            let n = floor(&conn, q);
            flo.push(t.elapsed());
            assert_eq!(
                page.items.len().min(20),
                n.min(20),
                "service and floor find the same rows"
            );
        }
    }
    svc.sort();
    flo.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (s50, s99, f50, f99) = (
        percentile(&svc, 0.5),
        percentile(&svc, 0.99),
        percentile(&flo, 0.5),
        percentile(&flo, 0.99),
    );
    println!("lookup over {n} organisations, {} queries each:", svc.len());
    println!(
        "  service  p50 = {:.3} ms  p99 = {:.3} ms",
        ms(s50),
        ms(s99)
    );
    println!(
        "  floor    p50 = {:.3} ms  p99 = {:.3} ms",
        ms(f50),
        ms(f99)
    );
    println!(
        "  ratio    p50 = {:.2}x    p99 = {:.2}x",
        ms(s50) / ms(f50),
        ms(s99) / ms(f99)
    );
    Figures {
        service: (ms(s50), ms(s99)),
        floor: (ms(f50), ms(f99)),
    }
}

fn bench(c: &mut Criterion) {
    let sizes = sizes();
    if sizes.len() > 1 {
        let curve: Vec<(usize, Figures)> = sizes
            .iter()
            .map(|&n| {
                let (path, p, caller) = database(n);
                (n, print_percentiles(n, &path, &p, &caller))
            })
            .collect();
        println!("| organisations | service p50 | service p99 | floor p50 | floor p99 |");
        println!("|---|---|---|---|---|");
        for (n, f) in curve {
            println!(
                "| {n} | {:.3} ms | {:.3} ms | {:.3} ms | {:.3} ms |",
                f.service.0, f.service.1, f.floor.0, f.floor.1
            );
        }
        return;
    }
    let (path, p, caller) = database(sizes[0]);
    print_percentiles(sizes[0], &path, &p, &caller);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mut g = c.benchmark_group("lookup");
    for (i, q) in typical_lookups().iter().enumerate() {
        let label = q.q.clone().or(q.partner_id.clone()).unwrap_or_default();
        g.bench_function(format!("service/{i}:{label}"), |b| {
            b.iter(|| p.lookup(&caller, q).unwrap())
        });
        g.bench_function(format!("floor/{i}:{label}"), |b| b.iter(|| floor(&conn, q)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
