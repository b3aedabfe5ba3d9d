#![no_main]
//! Any JSON body: decoding the API's request bodies never panics, and what decodes is then
//! validated by the domain types without panicking.
use libfuzzer_sys::fuzz_target;
use membership::domain::{EmailAddress, JobTitle, PersonName, Phone};
use membership::{LookupQuery, NewAssociationRequest, NewOrganisation, ProfilePatch};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = serde_json::from_slice::<NewAssociationRequest>(data) {
        let _ = PersonName::parse(&r.first_name);
        let _ = PersonName::parse(&r.last_name);
        let _ = EmailAddress::parse(&r.organisation_email);
        let _ = r.phone.as_deref().map(Phone::parse);
        let _ = r.job_title.as_deref().map(JobTitle::parse);
    }
    if let Ok(p) = serde_json::from_slice::<ProfilePatch>(data) {
        let _ = p.first_name.as_deref().map(PersonName::parse);
    }
    let _ = serde_json::from_slice::<NewOrganisation>(data);
    let _ = serde_json::from_slice::<LookupQuery>(data);
});
