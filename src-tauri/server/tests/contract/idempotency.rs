//! The remote client's retries against the real server: a creating write whose answer is lost is
//! sent again with the same `Idempotency-Key`, and the server makes it once; a write without a key
//! is never sent twice.
use std::time::Duration;

use membership::{NewOrganisation, RequestStatus};

use crate::backends::Subject;
use crate::scenarios::{ask, demo, newcomer, org};

#[test]
fn a_create_whose_answer_is_lost_is_retried_with_its_key_and_makes_one_request_and_one_mail() {
    let s = Subject::remote();
    let remote = s.as_remote().expect("the remote backend");
    let ada = newcomer(&s, "ada.personal@example.org", "Ada Lovelace");
    let contoso = org(&s, &ada, "4512345");

    let before = remote.attempts();
    remote.lose_next_answers(1);
    let created =
        ask(&s, &ada, &contoso, "Ada", "ada@contoso.com").expect("the retry gets the first answer");
    assert_eq!(created.status, RequestStatus::Accepted);
    assert_eq!(remote.attempts() - before, 2, "sent twice");

    let me = s.me(&ada).expect("me");
    assert_eq!(me.requests.len(), 1, "one request: {:?}", me.requests);
    assert_eq!(me.requests[0].request_id, created.request_id);
    s.mail_to(&ada, "ada@contoso.com", 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.mail_to(&ada, "ada@contoso.com", 1).len(), 1, "one mail");
}

#[test]
fn two_identical_submissions_with_one_key_make_one_request_and_one_mail() {
    let s = Subject::remote();
    let remote = s.as_remote().expect("the remote backend");
    let ada = newcomer(&s, "ada.personal@example.org", "Ada Lovelace");
    let contoso = org(&s, &ada, "4512345");

    remote.pin_idempotency_key(Some("7d4f3a10-contract-request"));
    let first = ask(&s, &ada, &contoso, "Ada", "ada@contoso.com").expect("created");
    let second = ask(&s, &ada, &contoso, "Ada", "ada@contoso.com")
        .expect("the repeat gets the first answer, not request_open");
    assert_eq!(first, second);

    // The same key for another request is refused, not replayed.
    let other = ask(&s, &ada, &contoso, "Augusta", "ada@contoso.com").expect_err("reused key");
    assert_eq!(other.code(), "idempotency_key_reused");
    remote.pin_idempotency_key(None);

    assert_eq!(s.me(&ada).expect("me").requests.len(), 1, "one request");
    s.mail_to(&ada, "ada@contoso.com", 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.mail_to(&ada, "ada@contoso.com", 1).len(), 1, "one mail");

    // Without a pinned key, each call is a new creation.
    let new = |name: &str| NewOrganisation {
        name: name.into(),
        country: "GB".into(),
        city: "London".into(),
        address: None,
        phone: None,
        website: None,
    };
    let a = s
        .create_organisation(&ada, &new("Northwind Traders"))
        .expect("created");
    let b = s
        .create_organisation(&ada, &new("Tailspin Toys"))
        .expect("created");
    assert_ne!(a.organisation_id, b.organisation_id);
}

#[test]
fn a_write_without_a_key_whose_answer_is_lost_is_not_sent_again() {
    let s = Subject::remote();
    let remote = s.as_remote().expect("the remote backend");
    let sam = demo(&s, "staff@example.net");
    let fabrikam = org(&s, &sam, "4598765");
    let id = ask(&s, &sam, &fabrikam, "Sam", "sam@fabrikam.com")
        .expect("request")
        .request_id;
    let ppc = demo(&s, "ppc@fabrikam.com");

    let before = remote.attempts();
    remote.lose_next_answers(1);
    let lost = s.approve(&ppc, &id).expect_err("the answer was lost");
    assert_eq!(lost.code(), client::UNREACHABLE);
    assert!(
        lost.message().contains("whether it was made"),
        "{}",
        lost.message()
    );
    assert_eq!(
        remote.attempts() - before,
        1,
        "an approval is never repeated"
    );
    assert_eq!(
        s.association_request(&ppc, &id).expect("request").status,
        RequestStatus::Accepted,
        "the server did approve: which is why the client must not send it again"
    );
}
