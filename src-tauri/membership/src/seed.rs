//! Demo organisations and accounts, so a new user can try every journey on the embedded backend.
use crate::model::NewOrganisation;
use crate::store::Store;
use crate::{Error, Programme, Secret, Timestamp};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "partnerdesk-demo";

/// A demo account and what it is for.
pub struct DemoAccount {
    pub email: &'static str,
    pub display_name: &'static str,
    pub role: &'static str,
}

pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "ppc@contoso.com",
        display_name: "Priya Patel",
        role: "Primary Program Contact of Contoso Pty Ltd (contoso.com pre-approved and verified)",
    },
    DemoAccount {
        email: "ppc@fabrikam.com",
        display_name: "Felix Fabre",
        role: "Primary Program Contact of Fabrikam Consulting (no pre-approved domains)",
    },
    DemoAccount {
        email: "staff@example.net",
        display_name: "Sam Taylor",
        role: "Staff member with no organisation yet",
    },
];

/// (name, city, country, partner ID, owner email, pre-approved domain and whether it includes subdomains)
type DemoOrg = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, bool)>,
);

const DEMO_ORGANISATIONS: &[DemoOrg] = &[
    (
        "Contoso Pty Ltd",
        "Sydney",
        "Australia",
        "4512345",
        "ppc@contoso.com",
        Some(("contoso.com", true)),
    ),
    (
        "Fabrikam Consulting",
        "Melbourne",
        "Australia",
        "4598765",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Northwind Traders",
        "Auckland",
        "New Zealand",
        "4620001",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Adventure Works Cycles",
        "London",
        "United Kingdom",
        "4620002",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Tailspin Toys",
        "Singapore",
        "Singapore",
        "4620003",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Woodgrove Bank",
        "Toronto",
        "Canada",
        "4620004",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Litware Systems",
        "Brisbane",
        "Australia",
        "4620005",
        "ppc@fabrikam.com",
        None,
    ),
    (
        "Contoso Pharmaceuticals",
        "Auckland",
        "New Zealand",
        "4620006",
        "ppc@fabrikam.com",
        None,
    ),
];

/// Fills a new, empty database with the demo data. Returns `false` (and changes nothing) when
/// the database already has accounts.
pub fn seed_demo<S: Store>(programme: &Programme<S>, now: Timestamp) -> Result<bool, Error> {
    if !programme.is_empty()? {
        return Ok(false);
    }
    let password = Secret::new(DEMO_PASSWORD);
    for a in DEMO_ACCOUNTS {
        programme.create_account(a.email, a.display_name, &password, now)?;
    }
    for (name, city, country, partner_id, owner, domain) in DEMO_ORGANISATIONS {
        let session = programme.sign_in(owner, &password, now)?;
        let caller = programme.authenticate(&session.access_token, now)?;
        let new = NewOrganisation {
            name: (*name).into(),
            country: (*country).into(),
            city: (*city).into(),
            address: None,
            phone: None,
            website: None,
        };
        let created = programme.create_organisation(&caller, &new, now)?;
        programme.set_partner_id(&created.organisation_id, partner_id)?;
        if let Some((d, include_subdomains)) = domain {
            // Demo domains start proven: nobody can publish a record for contoso.com.
            programme.import_verified_domain(
                &created.organisation_id,
                d,
                *include_subdomains,
                caller.account_id(),
                now,
            )?;
        }
        programme.sign_out(&caller, now)?;
    }
    Ok(true)
}

const WORDS: &[&str] = &[
    "Acme", "Alpine", "Amber", "Apex", "Arrow", "Aspen", "Atlas", "Aurora", "Azure", "Banyan",
    "Beacon", "Birch", "Blue", "Bolt", "Bright", "Bridge", "Canopy", "Cedar", "Cobalt", "Comet",
    "Coral", "Crest", "Crown", "Cypress", "Delta", "Echo", "Ember", "Falcon", "Fern", "Fjord",
    "Forge", "Garnet", "Glacier", "Granite", "Harbor", "Hawk", "Helix", "Horizon", "Indigo",
    "Iris", "Ivory", "Jade", "Juniper", "Kestrel", "Keystone", "Lagoon", "Lark", "Laurel", "Lumen",
    "Magnet", "Maple", "Marble", "Meadow", "Meridian", "Mesa", "Nimbus", "Noble", "North", "Nova",
    "Oak", "Ocean", "Onyx", "Orbit", "Orchid", "Pacific", "Peak", "Pearl", "Pine", "Pioneer",
    "Pixel", "Polar", "Prism", "Pulse", "Quartz", "Quest", "Radiant", "Raven", "Reef", "Ridge",
    "River", "Rock", "Sable", "Sage", "Sapphire", "Sierra", "Silver", "Sky", "Solar", "Sparrow",
    "Spruce", "Stellar", "Stone", "Summit", "Swift", "Tango", "Terra", "Thunder", "Tidal",
    "Timber", "Topaz", "Trident", "Tundra", "Union", "Valley", "Vector", "Velvet", "Vertex",
    "Vista", "Willow", "Wind", "Zenith", "Zephyr",
];
const KINDS: &[&str] = &[
    "Pty Ltd",
    "Consulting",
    "Systems",
    "Solutions",
    "Labs",
    "Group",
    "Technologies",
    "Partners",
    "Digital",
    "Networks",
];
const PLACES: &[(&str, &str)] = &[
    ("Sydney", "Australia"),
    ("Melbourne", "Australia"),
    ("Brisbane", "Australia"),
    ("Perth", "Australia"),
    ("Adelaide", "Australia"),
    ("Auckland", "New Zealand"),
    ("Wellington", "New Zealand"),
    ("London", "United Kingdom"),
    ("Manchester", "United Kingdom"),
    ("Dublin", "Ireland"),
    ("Paris", "France"),
    ("Lyon", "France"),
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("Amsterdam", "Netherlands"),
    ("Madrid", "Spain"),
    ("Milan", "Italy"),
    ("Stockholm", "Sweden"),
    ("Oslo", "Norway"),
    ("Toronto", "Canada"),
    ("Vancouver", "Canada"),
    ("Seattle", "United States"),
    ("Austin", "United States"),
    ("New York", "United States"),
    ("Chicago", "United States"),
    ("Singapore", "Singapore"),
    ("Tokyo", "Japan"),
    ("Osaka", "Japan"),
    ("Seoul", "South Korea"),
    ("Bangalore", "India"),
    ("Mumbai", "India"),
    ("São Paulo", "Brazil"),
    ("Mexico City", "Mexico"),
    ("Cape Town", "South Africa"),
    ("Nairobi", "Kenya"),
    ("Dubai", "United Arab Emirates"),
];

/// The lookups people type, over [`synthetic_directory`]: a name prefix, two name words, a word
/// and a city, a word alone, a partner ID, a word with a country filter. The lookup benchmarks of
/// both stores run this one set.
pub fn typical_lookups() -> Vec<crate::LookupQuery> {
    let q = |s: &str| crate::LookupQuery {
        q: Some(s.into()),
        ..Default::default()
    };
    vec![
        q("ced"),
        q("cedar quartz"),
        q("summit labs"),
        q("harbor sydney"),
        q("zephyr"),
        crate::LookupQuery {
            partner_id: Some("1000500000".into()),
            ..Default::default()
        },
        crate::LookupQuery {
            q: Some("nova".into()),
            country: Some("Japan".into()),
            ..Default::default()
        },
    ]
}

/// A deterministic synthetic directory of `n` organisations for benchmarks and scale tests:
/// names of two words and a kind ("Cedar Quartz Labs"), partner IDs 1000000000 + i.
pub fn synthetic_directory(n: usize) -> Vec<crate::ImportedOrganisation> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // splitmix64: fast, deterministic, good enough to spread names.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as usize
    };
    (0..n)
        .map(|i| {
            let (city, country) = PLACES[next() % PLACES.len()];
            crate::ImportedOrganisation {
                name: format!(
                    "{} {} {}",
                    WORDS[next() % WORDS.len()],
                    WORDS[next() % WORDS.len()],
                    KINDS[next() % KINDS.len()]
                ),
                city: city.to_owned(),
                country: country.to_owned(),
                partner_id: (1_000_000_000 + i).to_string(),
            }
        })
        .collect()
}
