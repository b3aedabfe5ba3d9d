//! Secrets at rest: a full journey through the app's own client against each backend (the real
//! server binary, logging at debug level to a file; and `client::Embedded` over a temp folder,
//! with the test's own debug log), then every file in the data folder — databases with their
//! `-wal` and `-shm` files, the idempotency database, the logs — is searched byte for byte for
//! every password and token used: passwords (right, wrong and for an unknown account), access and
//! refresh tokens, and verification codes as the mail carried them. Tokens are also searched for
//! as their raw 32 bytes and as hex. Zero hits, with one designed exception: the embedded
//! backend's mailbox keeps delivered mail, verification link included, as a real inbox would
//! (ARCHITECTURE.md), so there a verification code may appear in the `mailbox` table and nowhere
//! else. And the database holds each token's SHA-256, where the service looks it up.
mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use client::{Backend, Embedded, Privilege, Remote};
use membership::{
    LookupQuery, NewAssociationRequest, ProfilePatch, RequestStatus, Secret, Timestamp,
};
use sha2::{Digest, Sha256};
use support::{Launch, ServerProcess, SmtpSink, DEMO_PASSWORD};

/// Every secret the journey used.
#[derive(Default, Debug)]
struct Used {
    passwords: Vec<String>,
    /// (kind, token, whether it is still its session's current one: a refresh replaces both
    /// hashes in the session's row).
    session_tokens: Vec<(Kind, String, bool)>,
    verification_codes: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Access,
    Refresh,
}

fn random_text(prefix: &str) -> String {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("random bytes");
    format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(b))
}

fn code_in(body: &str) -> String {
    support::token_in(body).unwrap_or_else(|| panic!("no verification code in {body}"))
}

/// The journey, the same on both backends. `mail` returns the body of the newest mail to an
/// address once at least `count` have arrived.
fn journey(b: &dyn Backend, mail: &dyn Fn(&Secret, &str, usize) -> String) -> Used {
    let mut used = Used::default();
    let email = "kim.keeper@example.net";
    let password = random_text("Sesame");
    let wrong = random_text("Wrong");
    let unknown = random_text("Unknown");
    used.passwords
        .extend([password.clone(), wrong.clone(), unknown.clone()]);
    used.passwords.push(DEMO_PASSWORD.to_owned());

    b.create_account(email, "Kim Keeper", &Secret::new(&*password))
        .expect("account created");
    let refused = b
        .sign_in(email, &Secret::new(&*wrong))
        .expect_err("a wrong password");
    assert_eq!(refused.code(), "invalid_credentials");
    b.sign_in("nobody.here@example.net", &Secret::new(&*unknown))
        .expect_err("an unknown account");

    let first = b.sign_in(email, &Secret::new(&*password)).expect("sign-in");
    let second = b.refresh(&first.refresh_token).expect("refresh");
    b.refresh(&first.refresh_token)
        .expect_err("a used refresh token");
    for (s, current) in [(&first, false), (&second, true)] {
        used.session_tokens
            .push((Kind::Access, s.access_token.expose().to_owned(), current));
        used.session_tokens
            .push((Kind::Refresh, s.refresh_token.expose().to_owned(), current));
    }
    let access = second.access_token.clone();

    let found = b
        .lookup(
            &access,
            &LookupQuery {
                q: Some("Contoso".into()),
                ..Default::default()
            },
        )
        .expect("lookup");
    let contoso = found.items[0].organisation_id.clone();
    let fabrikam = b
        .lookup(
            &access,
            &LookupQuery {
                partner_id: Some("4598765".into()),
                ..Default::default()
            },
        )
        .expect("lookup")
        .items[0]
        .organisation_id
        .clone();

    // Accepted at once (pre-approved domain); the mail is sent again, and only the newest code
    // works.
    let work = "kim@contoso.com";
    let created = b
        .request_association(
            &access,
            &NewAssociationRequest {
                organisation_id: contoso.clone(),
                first_name: "Kim".into(),
                last_name: "Keeper".into(),
                organisation_email: work.into(),
                phone: Some("+61 2 5550 1234".into()),
                job_title: None,
            },
        )
        .expect("request");
    assert_eq!(created.status, RequestStatus::Accepted);
    let first_code = code_in(&mail(&access, work, 1));
    b.resend_verification(&access, &created.request_id)
        .expect("resend");
    let second_code = code_in(&mail(&access, work, 2));
    assert_ne!(first_code, second_code);
    used.verification_codes
        .extend([first_code.clone(), second_code.clone()]);
    b.verify(&access, &Secret::new(&*first_code))
        .expect_err("a replaced code");
    let verified = b
        .verify(&access, &Secret::new(&*second_code))
        .expect("verify");
    let profile = b
        .profile(&access, &verified.membership_id)
        .expect("profile");
    b.update_profile(
        &access,
        &verified.membership_id,
        profile.revision,
        &ProfilePatch {
            job_title: Some("Keeper of keys".into()),
            ..Default::default()
        },
    )
    .expect("profile edit");
    b.request_privilege(
        &access,
        &verified.membership_id,
        Privilege::ActionPack,
        Some("please"),
    )
    .expect("privilege request");

    // Through the PPC: Fabrikam pre-approves nothing.
    let other = "kim@keeper-consulting.example";
    let pending = b
        .request_association(
            &access,
            &NewAssociationRequest {
                organisation_id: fabrikam,
                first_name: "Kim".into(),
                last_name: "Keeper".into(),
                organisation_email: other.into(),
                phone: None,
                job_title: Some("Consultant".into()),
            },
        )
        .expect("request");
    assert_eq!(pending.status, RequestStatus::PendingApproval);
    let ppc = b
        .sign_in("ppc@fabrikam.com", &Secret::new(DEMO_PASSWORD))
        .expect("the PPC signs in");
    used.session_tokens
        .push((Kind::Access, ppc.access_token.expose().to_owned(), true));
    used.session_tokens
        .push((Kind::Refresh, ppc.refresh_token.expose().to_owned(), true));
    b.approve(&ppc.access_token, &pending.request_id)
        .expect("approval");
    let third_code = code_in(&mail(&access, other, 1));
    used.verification_codes.push(third_code.clone());
    b.verify(&access, &Secret::new(&*third_code))
        .expect("verify");
    b.verify(&access, &Secret::new(&*third_code))
        .expect_err("a used code");
    b.sign_out(&ppc.access_token).expect("sign-out");
    b.sign_out(&access).expect("sign-out");
    used
}

/// Every way a secret could be written down: as text, and for tokens their raw bytes and hex.
fn needles(secret: &str, is_token: bool) -> Vec<Vec<u8>> {
    let mut n = vec![secret.as_bytes().to_vec()];
    if is_token {
        let raw = URL_SAFE_NO_PAD
            .decode(secret)
            .expect("tokens are base64url");
        assert_eq!(raw.len(), 32, "tokens are 32 random bytes");
        n.push(
            raw.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes(),
        );
        n.push(raw);
    }
    n
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the data folder reads") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// (file, which secret) for every secret found in any file under `dir`.
fn search(dir: &Path, secrets: &[(&str, String, bool)]) -> Vec<String> {
    let mut hits = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).expect("a data file reads");
        for (what, secret, is_token) in secrets {
            if needles(secret, *is_token)
                .iter()
                .any(|n| contains(&bytes, n))
            {
                hits.push(format!("{what} in {}", file.display()));
            }
        }
    }
    hits
}

/// Checks the data folder after a journey; `mailbox_keeps_codes` for the embedded backend.
/// `expect_wal`: the write-ahead logs must be there to be searched (a killed process, or one
/// still running, leaves them).
fn check_at_rest(
    dir: &Path,
    database: &Path,
    used: &Used,
    mailbox_keeps_codes: bool,
    expect_wal: bool,
) {
    let files = files_under(dir);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let sizes: Vec<String> = files
        .iter()
        .zip(&names)
        .map(|(f, n)| format!("{n} ({} bytes)", f.metadata().map_or(0, |m| m.len())))
        .collect();
    println!("secrets: searching {}", sizes.join(", "));
    if expect_wal {
        assert!(
            names.iter().any(|n| n.ends_with("-wal")),
            "the write-ahead log is there to be searched: {names:?}"
        );
    }

    let mut secrets: Vec<(&str, String, bool)> = Vec::new();
    for p in &used.passwords {
        secrets.push(("a password", p.clone(), false));
    }
    for (kind, t, _) in &used.session_tokens {
        let what = if *kind == Kind::Access {
            "an access token"
        } else {
            "a refresh token"
        };
        secrets.push((what, t.clone(), true));
    }
    let codes: Vec<(&str, String, bool)> = used
        .verification_codes
        .iter()
        .map(|c| ("a verification code", c.clone(), true))
        .collect();
    if !mailbox_keeps_codes {
        secrets.extend(codes.iter().cloned());
    }
    let mut hits = search(dir, &secrets);
    if mailbox_keeps_codes {
        // Outside the database (the logs), the codes may not appear either.
        let db_name = database.file_name().unwrap().to_string_lossy().into_owned();
        hits.extend(
            search(dir, &codes)
                .into_iter()
                .filter(|hit| !hit.contains(&db_name)),
        );
    }
    assert!(hits.is_empty(), "secrets at rest: {hits:#?}");

    // The search finds what is there: each current token's SHA-256 is in the files, as the
    // database keeps it.
    let mut hashes = Vec::new();
    for (_, t, _) in used.session_tokens.iter().filter(|t| t.2) {
        hashes.push(Sha256::digest(t.as_bytes()).to_vec());
    }
    for c in &used.verification_codes {
        hashes.push(Sha256::digest(c.as_bytes()).to_vec());
    }
    let all: Vec<u8> = files
        .iter()
        .flat_map(|f| std::fs::read(f).unwrap())
        .collect();
    for h in &hashes {
        assert!(contains(&all, h), "a token's hash is not in the data files");
    }

    let db = rusqlite::Connection::open(database).expect("the database opens");
    for (kind, t, current) in &used.session_tokens {
        let column = if *kind == Kind::Access {
            "access_hash"
        } else {
            "refresh_hash"
        };
        let n: i64 = db
            .query_row(
                &format!("SELECT count(*) FROM sessions WHERE {column} = ?1"),
                [Sha256::digest(t.as_bytes()).to_vec()],
                |r| r.get(0),
            )
            .unwrap();
        // A replaced token's hash is gone with it: a stolen old token finds no session.
        assert_eq!(n, i64::from(*current), "the {column} of a session token");
    }
    for c in &used.verification_codes {
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM verification_tokens WHERE token_hash = ?1",
                [Sha256::digest(c.as_bytes()).to_vec()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "a verification code's hash");
    }
    let hashes: Vec<String> = db
        .prepare("SELECT password_hash FROM accounts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        hashes.iter().all(|h| h.starts_with("$argon2id$")),
        "passwords only as argon2id"
    );

    // Every text cell of every table: the codes appear only where the design keeps them.
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut cells = 0u64;
    for table in &tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let text = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                    rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                    _ => continue,
                };
                cells += 1;
                for (what, secret, is_token) in secrets.iter().chain(&codes) {
                    if needles(secret, *is_token)
                        .iter()
                        .any(|n| contains(&text, n))
                    {
                        let allowed = mailbox_keeps_codes
                            && *what == "a verification code"
                            && table == "mailbox";
                        assert!(allowed, "{what} in table {table}");
                    }
                }
            }
        }
    }
    println!(
        "secrets: {} passwords, {} session tokens, {} verification codes; {} files, {cells} cells in {} tables; zero hits",
        used.passwords.len(),
        used.session_tokens.len(),
        used.verification_codes.len(),
        files.len(),
        tables.len()
    );
}

/// The test's own debug log (the client crate and the membership crate log through `tracing`).
fn debug_log(path: &Path) -> tracing::subscriber::DefaultGuard {
    let file = File::create(path).expect("a log file");
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_default(subscriber)
}

#[test]
fn no_secret_is_at_rest_on_the_server() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let database = dir.path().join("server.sqlite3");
    let sink = SmtpSink::start();
    let mut launch = Launch::new(&database, &sink);
    launch
        .extra
        .extend(["--resend-cooldown-secs", "0"].map(String::from));
    // `trace` is everything `debug` logs and more.
    launch.log = Some(("trace".into(), dir.path().join("server.log")));
    let mut server = ServerProcess::start(launch);
    let _log = debug_log(&dir.path().join("client.log"));

    let _ = rustls::crypto::ring::default_provider().install_default();
    let remote = Remote::new(&server.base()).expect("the server's URL");
    let used = journey(&remote, &|_, address, count| {
        sink.wait_for(address, count)
            .last()
            .expect("a mail")
            .body
            .clone()
    });
    // Killed, not stopped: the write-ahead logs stay as a crash would leave them.
    server.kill();
    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("the server log");
    assert!(
        log.contains("TRACE"),
        "the server logged at its most verbose level"
    );
    assert!(
        log.contains("/v1/sessions"),
        "the server logged the requests"
    );
    check_at_rest(dir.path(), &database, &used, false, true);
}

#[test]
fn no_secret_is_at_rest_in_the_embedded_backend() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let database = data.join("membership.sqlite3");
    let _log = debug_log(&data.join("app.log"));
    let config = membership::Config {
        public_url: Some("https://members.partnerdesk.test".into()),
        resend_cooldown_secs: 0,
        ..Default::default()
    };
    let embedded = Embedded::open(&database, config).expect("the embedded backend opens");
    membership::seed::seed_demo(embedded.programme(), Timestamp::now_utc()).expect("demo data");
    let used = journey(&embedded, &|who, address, count| {
        let mail: Vec<_> = embedded
            .mailbox(who)
            .expect("the mailbox reads")
            .expect("the embedded backend keeps mail")
            .into_iter()
            .filter(|m| m.mail.to.eq_ignore_ascii_case(address))
            .collect();
        assert!(mail.len() >= count, "{} mail(s) to {address}", mail.len());
        // Newest first.
        mail[0].mail.body.clone()
    });
    // The files as the running app leaves them (the connections are still open).
    check_at_rest(&data, &database, &used, true, true);
    // And as a closed app leaves them (the last connection checkpoints the log into the file).
    drop(embedded);
    check_at_rest(&data, &database, &used, true, false);
}
