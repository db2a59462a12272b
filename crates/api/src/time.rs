//! Times on the wire, written fast: the service writes two per alternative of every
//! recommendation, and chrono's `Display`-based serialisation is a formatter walk per field.
//! Whole seconds (every send time the recommender proposes) are written digit by digit; any
//! other instant goes through chrono, so the text is always chrono's own.

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `YYYY-MM-DDTHH:MM:SS` into `out` when the instant is a whole second of years 0–9999.
fn whole_seconds(t: &NaiveDateTime, out: &mut [u8; 20]) -> bool {
    let (year, nanos) = (t.year(), t.nanosecond());
    if nanos != 0 || !(0..=9999).contains(&year) {
        return false;
    }
    let mut put = |at: usize, v: u32, digits: usize| {
        let mut v = v;
        for k in (0..digits).rev() {
            out[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, t.month(), 2);
    put(8, t.day(), 2);
    put(11, t.hour(), 2);
    put(14, t.minute(), 2);
    put(17, t.second(), 2);
    out[4] = b'-';
    out[7] = b'-';
    out[10] = b'T';
    out[13] = b':';
    out[16] = b':';
    true
}

/// Serialises a UTC instant as chrono does (`2026-11-27T09:00:00Z`).
pub fn utc<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 20];
    if whole_seconds(&t.naive_utc(), &mut buf) {
        buf[19] = b'Z';
        // Only ASCII digits and separators were written.
        if let Ok(text) = std::str::from_utf8(&buf) {
            return s.serialize_str(text);
        }
    }
    t.serialize(s)
}

/// Serialises a local date and time as chrono does (`2026-11-27T10:00:00`).
pub fn local<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 20];
    if whole_seconds(t, &mut buf)
        && let Ok(text) = std::str::from_utf8(&buf[..19])
    {
        return s.serialize_str(text);
    }
    t.serialize(s)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Fast {
        #[serde(serialize_with = "super::utc")]
        utc: DateTime<Utc>,
        #[serde(serialize_with = "super::local")]
        local: NaiveDateTime,
    }

    #[derive(Serialize)]
    struct Chrono {
        utc: DateTime<Utc>,
        local: NaiveDateTime,
    }

    #[test]
    fn the_text_is_chronos() {
        let mut cases = vec![
            Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2024, 2, 29, 12, 34, 56).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
                + chrono::Duration::milliseconds(250),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap() + chrono::Duration::nanoseconds(7),
        ];
        if let Some(t) = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).single() {
            cases.push(t);
        }
        if let Some(t) = Utc.with_ymd_and_hms(12000, 1, 1, 0, 0, 0).single() {
            cases.push(t);
        }
        // A leap second (chrono keeps it in the nanoseconds).
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_000_000_000))
            .unwrap();
        cases.push(leap.and_utc());
        for t in cases {
            let local = t.naive_utc() + chrono::Duration::hours(1);
            let fast = serde_json::to_string(&Fast { utc: t, local }).unwrap();
            let slow = serde_json::to_string(&Chrono { utc: t, local }).unwrap();
            assert_eq!(fast, slow);
        }
    }
}
