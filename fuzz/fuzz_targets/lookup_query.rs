#![no_main]
//! Any lookup text reaches SQLite FTS5 only as quoted prefix terms: no input makes lookup fail
//! with anything but a validation refusal, and every result contains each typed word.
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use membership::{Caller, ErrorKind, LookupQuery, Mail, MailError, Mailer, Programme, Secret, Timestamp};

struct NoMail;
impl Mailer for NoMail {
    fn send(&self, _: &Mail) -> Result<(), MailError> {
        Ok(())
    }
}

fn world() -> &'static (Programme, Caller) {
    static W: OnceLock<(Programme, Caller)> = OnceLock::new();
    W.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("partner-desk-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = Programme::open(&dir.join("lookup.sqlite3"), Arc::new(NoMail)).unwrap();
        let now = Timestamp::now_utc();
        membership::seed::seed_demo(&p, now).unwrap();
        p.import_organisations(&membership::seed::synthetic_directory(500), now).unwrap();
        let s = p.sign_in("staff@example.net", &Secret::new(membership::seed::DEMO_PASSWORD), now).unwrap();
        let c = p.authenticate(&s.access_token, now).unwrap();
        (p, c)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (p, caller) = world();
    let mut parts = text.splitn(3, '\n');
    let q = LookupQuery {
        q: parts.next().map(str::to_owned),
        city: parts.next().map(str::to_owned),
        country: parts.next().map(str::to_owned),
        ..Default::default()
    };
    match p.lookup(caller, &q) {
        Ok(_) => {}
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::BadRequest | ErrorKind::Invalid),
            "lookup failed with {}: {}",
            e.code(),
            e.message()
        ),
    }
});
