//! The SMTP sink on loopback that the tests read mail from: the shared one in the testkit crate.
pub use testkit::{SentMail, SmtpSink};
