//! IANA time zones: storage is UTC, the customer sees and is contacted in local time.

use crate::CoreError;
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A customer's IANA time zone, such as `Europe/Madrid`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Parses an IANA name; abbreviations such as `CET` that are not zone names are rejected.
    pub fn parse(name: &str) -> Result<Self, CoreError> {
        name.parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| CoreError::UnknownTimeZone(name.to_owned()))
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The wall-clock time in this zone at an instant.
    pub fn local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.0).naive_local()
    }

    /// The instant of a local wall-clock time. In a spring-forward gap the time does not exist and
    /// the first instant after the gap is used; in a fall-back overlap the earlier one.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            LocalResult::None => {
                // Gaps are at most a few hours; step forward a minute at a time.
                let mut probe = local;
                for _ in 0..(24 * 60) {
                    probe += chrono::Duration::minutes(1);
                    if let Some(t) = self.0.from_local_datetime(&probe).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&local)
            }
        }
    }

    /// The instant of `time` on local `date`.
    pub fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        self.to_utc(date.and_time(time))
    }
}

impl TryFrom<String> for TimeZone {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        TimeZone::parse(&s)
    }
}

impl From<TimeZone> for String {
    fn from(z: TimeZone) -> String {
        z.name().to_owned()
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZone({})", self.name())
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_only() {
        assert_eq!(
            TimeZone::parse("Europe/Madrid").unwrap().name(),
            "Europe/Madrid"
        );
        let err = TimeZone::parse("Mars/Olympus").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
    }

    #[test]
    fn local_round_trip_and_dst_gap() {
        let z = TimeZone::parse("Europe/Madrid").unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        // 02:30 does not exist on the spring-forward day: the first valid instant is 03:00 local.
        let t = z.at(d, NaiveTime::from_hms_opt(2, 30, 0).unwrap());
        assert_eq!(z.local(t).time(), NaiveTime::from_hms_opt(3, 0, 0).unwrap());
        let noon = z.at(d, NaiveTime::from_hms_opt(12, 0, 0).unwrap());
        assert_eq!(z.local(noon), d.and_hms_opt(12, 0, 0).unwrap());
    }
}
