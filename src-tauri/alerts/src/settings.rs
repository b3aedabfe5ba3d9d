//! The person's notification settings and the pure rules over them: whether a notice is shown
//! by the OS or only goes to the inbox. The clock is a parameter, never read here.
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Notice;

/// A notice older than this when it arrives (the app was closed for a while) goes to the inbox
/// without an OS notification: a burst of yesterday's news helps nobody.
pub const FRESH_FOR: Duration = Duration::from_secs(12 * 3600);

/// A local wall-clock time of day, minute precision (`"22:30"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime {
    hour: u8,
    minute: u8,
}

impl ClockTime {
    /// `None` unless `hour` < 24 and `minute` < 60.
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(Self { hour, minute })
    }

    pub fn hour(self) -> u8 {
        self.hour
    }

    pub fn minute(self) -> u8 {
        self.minute
    }

    fn minutes(self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }

    /// The local time now, from the system's time zone.
    pub fn now_local() -> Self {
        use chrono::Timelike;
        let now = chrono::Local::now();
        // chrono's hour and minute are always in range.
        Self {
            hour: now.hour() as u8,
            minute: now.minute() as u8,
        }
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Why a time was refused, in words for the settings screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadClockTime(pub String);

impl fmt::Display for BadClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\u{201c}{}\u{201d} is not a time of day. Enter it as hours and minutes, such as 22:00 or 07:30.",
            self.0
        )
    }
}

impl std::error::Error for BadClockTime {}

impl FromStr for ClockTime {
    type Err = BadClockTime;

    /// `H:MM` or `HH:MM`, 24-hour.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadClockTime(s.to_owned());
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let digits = |p: &str, max_len| {
            (!p.is_empty() && p.len() <= max_len && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u8>().ok())
                .flatten()
        };
        match (digits(h, 2), (m.len() == 2).then(|| digits(m, 2)).flatten()) {
            (Some(h), Some(m)) => Self::new(h, m).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Quiet hours from `start` (included) to `end` (excluded), local time; `end` before `start`
/// runs across midnight (22:00–07:00). Equal times mean no quiet hours at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: ClockTime,
    pub end: ClockTime,
}

impl QuietHours {
    pub fn contains(&self, t: ClockTime) -> bool {
        let (s, e, t) = (self.start.minutes(), self.end.minutes(), t.minutes());
        match s.cmp(&e) {
            std::cmp::Ordering::Equal => false,
            std::cmp::Ordering::Less => s <= t && t < e,
            std::cmp::Ordering::Greater => t >= s || t < e,
        }
    }
}

/// What the person chose in Settings. The shell keeps it with its other settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// OS notifications on or off; the inbox always fills.
    pub notifications: bool,
    pub quiet_hours: Option<QuietHours>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            notifications: true,
            quiet_hours: None,
        }
    }
}

/// Where a new notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Inbox and an OS notification.
    Notify,
    /// Inbox only, unread.
    InboxOnly(Quiet),
    /// Inbox only, already read: it was out of date when it arrived.
    Settled,
}

/// Why a notice stays in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quiet {
    NotificationsOff,
    QuietHours,
    /// Older than [`FRESH_FOR`] when it arrived.
    Old,
}

/// Decides where `notice` goes, `age` after its event happened, at local time `now`.
pub fn delivery(settings: &Settings, notice: &Notice, age: Duration, now: ClockTime) -> Delivery {
    if notice.stale {
        Delivery::Settled
    } else if !settings.notifications {
        Delivery::InboxOnly(Quiet::NotificationsOff)
    } else if settings.quiet_hours.is_some_and(|q| q.contains(now)) {
        Delivery::InboxOnly(Quiet::QuietHours)
    } else if age > FRESH_FOR {
        Delivery::InboxOnly(Quiet::Old)
    } else {
        Delivery::Notify
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Target};

    fn t(s: &str) -> ClockTime {
        s.parse().unwrap()
    }

    fn quiet(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: t(start),
            end: t(end),
        }
    }

    fn notice(stale: bool) -> Notice {
        Notice {
            id: 1,
            kind: "association_request.created".into(),
            at: membership::Timestamp::UNIX_EPOCH,
            headline: "h".into(),
            title: "t".into(),
            body: "b".into(),
            actions: vec![Action::Open],
            target: Target::OwnRequest {
                organisation_id: "o".into(),
                request_id: "r".into(),
            },
            stale,
        }
    }

    #[test]
    fn times_of_day_parse_in_24_hour_form_and_refuse_the_rest() {
        assert_eq!(t("7:05"), ClockTime::new(7, 5).unwrap());
        assert_eq!(t(" 23:59 "), ClockTime::new(23, 59).unwrap());
        assert_eq!(t("00:00").to_string(), "00:00");
        for bad in [
            "24:00", "12:60", "12", "12:5", "-1:00", "+1:00", "1:000", "aa:bb", "", "12:30pm",
        ] {
            let e = bad.parse::<ClockTime>().unwrap_err();
            assert!(e.to_string().contains("such as 22:00"), "{bad}");
        }
        let json = serde_json::to_string(&quiet("22:00", "07:00")).unwrap();
        assert_eq!(json, r#"{"start":"22:00","end":"07:00"}"#);
        assert_eq!(
            serde_json::from_str::<QuietHours>(&json).unwrap(),
            quiet("22:00", "07:00")
        );
        assert!(serde_json::from_str::<QuietHours>(r#"{"start":"25:00","end":"07:00"}"#).is_err());
    }

    #[test]
    fn quiet_hours_within_a_day_include_the_start_and_exclude_the_end() {
        let q = quiet("13:00", "14:30");
        for (at, inside) in [
            ("12:59", false),
            ("13:00", true),
            ("14:29", true),
            ("14:30", false),
            ("00:00", false),
        ] {
            assert_eq!(q.contains(t(at)), inside, "{at}");
        }
    }

    #[test]
    fn quiet_hours_across_midnight_cover_both_sides_of_it() {
        let q = quiet("22:00", "07:00");
        for (at, inside) in [
            ("21:59", false),
            ("22:00", true),
            ("23:59", true),
            ("00:00", true),
            ("06:59", true),
            ("07:00", false),
            ("12:00", false),
        ] {
            assert_eq!(q.contains(t(at)), inside, "{at}");
        }
    }

    #[test]
    fn equal_start_and_end_mean_no_quiet_hours() {
        let q = quiet("08:00", "08:00");
        assert!((0..24).all(|h| !q.contains(ClockTime::new(h, 0).unwrap())));
    }

    #[test]
    fn every_minute_of_the_day_is_quiet_in_exactly_one_of_two_complementary_ranges() {
        let (a, b) = (quiet("22:15", "06:45"), quiet("06:45", "22:15"));
        for m in 0..24 * 60 {
            let now = ClockTime::new((m / 60) as u8, (m % 60) as u8).unwrap();
            assert!(a.contains(now) ^ b.contains(now), "{now}");
        }
    }

    #[test]
    fn delivery_follows_the_settings_quiet_hours_and_age() {
        let on = Settings::default();
        let fresh = Duration::from_secs(5);
        let noon = t("12:00");
        assert_eq!(delivery(&on, &notice(false), fresh, noon), Delivery::Notify);
        assert_eq!(delivery(&on, &notice(true), fresh, noon), Delivery::Settled);
        let off = Settings {
            notifications: false,
            ..on
        };
        assert_eq!(
            delivery(&off, &notice(false), fresh, noon),
            Delivery::InboxOnly(Quiet::NotificationsOff)
        );
        let night = Settings {
            quiet_hours: Some(quiet("22:00", "07:00")),
            ..on
        };
        assert_eq!(
            delivery(&night, &notice(false), fresh, t("23:30")),
            Delivery::InboxOnly(Quiet::QuietHours)
        );
        assert_eq!(
            delivery(&night, &notice(false), fresh, noon),
            Delivery::Notify
        );
        assert_eq!(
            delivery(&on, &notice(false), FRESH_FOR + fresh, noon),
            Delivery::InboxOnly(Quiet::Old)
        );
    }
}
