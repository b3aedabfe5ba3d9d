use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::{has_invisible_or_control, string_newtype, ValidationError};

/// A DNS name in canonical form: IDNA/UTS-46 to ASCII, lower-case, no trailing dot,
/// labels of 1–63 octets, at most 253 octets, at least two labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);
string_newtype!(DomainName);

fn invalid_domain(input: &str) -> ValidationError {
    ValidationError::new(
        "invalid_domain",
        format!("\u{201c}{}\u{201d} is not a valid email domain. Type it as it appears after the @ in a work address, for example contoso.com.", truncate(input)),
    )
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 64 {
        let mut t: String = s.chars().take(61).collect();
        t.push_str("...");
        t
    } else {
        s.to_owned()
    }
}

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || has_invisible_or_control(trimmed) || trimmed.len() > 1024 {
            return Err(invalid_domain(input));
        }
        let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if without_dot.is_empty() || without_dot.ends_with('.') {
            return Err(invalid_domain(input));
        }
        let ascii = Uts46::new()
            .to_ascii(
                without_dot.as_bytes(),
                AsciiDenyList::STD3,
                Hyphens::Check,
                DnsLength::Verify,
            )
            .map_err(|_| invalid_domain(input))?;
        let ascii = ascii.to_ascii_lowercase();
        let labels: Vec<&str> = ascii.split('.').collect();
        let ok = ascii.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty() && l.len() <= 63)
            // A top-level label is never all digits: that would be an IP address, not a domain.
            && !labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(invalid_domain(input));
        }
        Ok(Self(ascii))
    }

    /// True when `self` is `other` or a subdomain of it, on label boundaries:
    /// `a.contoso.com` is within `contoso.com`; `evilcontoso.com` is not.
    pub fn is_within(&self, other: &DomainName) -> bool {
        self.0 == other.0
            || (self.0.len() > other.0.len()
                && self.0.ends_with(other.0.as_str())
                && self.0.as_bytes()[self.0.len() - other.0.len() - 1] == b'.')
    }
}

/// Free-mail providers: anyone can get an address there, so it proves nothing about employment.
const FREEMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "outlook.com.au",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.it",
    "hotmail.es",
    "live.com",
    "live.com.au",
    "live.co.uk",
    "msn.com",
    "passport.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.com.au",
    "yahoo.fr",
    "yahoo.de",
    "yahoo.co.jp",
    "ymail.com",
    "rocketmail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "bigpond.com",
    "bigpond.net.au",
    "optusnet.com.au",
    "tutanota.com",
    "tuta.io",
    "fastmail.com",
    "hey.com",
    "inbox.com",
    "mailinator.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "naver.com",
    "rediffmail.com",
];

/// A domain an organisation may pre-approve: a valid [`DomainName`] that is neither a public
/// suffix (`co.uk`) nor a free-mail provider (`gmail.com`) nor under one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailDomain(DomainName);

impl EmailDomain {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let name = DomainName::parse(input)?;
        let bytes = name.as_str().as_bytes();
        let registrable = psl::domain(bytes);
        let is_suffix = match registrable {
            None => true,
            Some(d) => d.suffix().as_bytes() == bytes,
        };
        if is_suffix {
            return Err(ValidationError::new(
                "public_suffix",
                format!(
                    "{} is a public suffix that many unrelated organisations share, so it cannot be pre-approved. Add your organisation's own domain, for example contoso.{}.",
                    name.as_str(),
                    name.as_str()
                ),
            ));
        }
        if FREEMAIL
            .iter()
            .any(|f| name.is_within(&DomainName(f.to_string())))
        {
            return Err(ValidationError::new(
                "freemail_domain",
                format!(
                    "{} is a free email provider; anyone can get an address there, so it cannot be pre-approved. Add your organisation's own domain instead.",
                    name.as_str()
                ),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn name(&self) -> &DomainName {
        &self.0
    }

    /// Does an address at `address_domain` fall under this rule? Exact, or on a label boundary
    /// below it when the rule includes subdomains.
    pub fn matches(&self, address_domain: &DomainName, include_subdomains: bool) -> bool {
        if include_subdomains {
            address_domain.is_within(&self.0)
        } else {
            *address_domain == self.0
        }
    }
}

impl AsRef<str> for EmailDomain {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address in canonical form: dot-atom ASCII local part (≤ 64), canonical domain,
/// whole ≤ 254, all lower-case. Mail only ever goes to this form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    address: String,
    at: usize,
}

fn invalid_email(input: &str) -> ValidationError {
    ValidationError::new(
        "invalid_email",
        format!("\u{201c}{}\u{201d} is not a valid email address. Enter an address like yourname@contoso.com.", truncate(input.trim())),
    )
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        // Whitespace inside is refused here: DomainName::parse would trim it after the @.
        if trimmed.len() > 1024
            || has_invisible_or_control(trimmed)
            || trimmed.contains(char::is_whitespace)
        {
            return Err(invalid_email(input));
        }
        let (local, domain) = trimmed
            .rsplit_once('@')
            .ok_or_else(|| invalid_email(input))?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        if !local_ok {
            return Err(invalid_email(input));
        }
        let domain = DomainName::parse(domain).map_err(|_| invalid_email(input))?;
        let address = format!("{}@{}", local.to_ascii_lowercase(), domain.as_str());
        if address.len() > 254 {
            return Err(invalid_email(input));
        }
        Ok(Self {
            at: local.len(),
            address,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    pub fn domain(&self) -> DomainName {
        DomainName(self.address[self.at + 1..].to_owned())
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.address)
    }
}
