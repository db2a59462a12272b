//! Days past due and the delinquency buckets reports are cut by.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Days since the oldest unpaid due date; zero when nothing is overdue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct DaysPastDue(u32);

impl DaysPastDue {
    /// Nothing overdue.
    pub const CURRENT: DaysPastDue = DaysPastDue(0);

    /// A count of days past due.
    pub const fn new(days: u32) -> Self {
        DaysPastDue(days)
    }

    /// Days past due of a debt due on `due` seen on `today` (zero if not yet due).
    pub fn between(due: chrono::NaiveDate, today: chrono::NaiveDate) -> Self {
        let days = (today - due).num_days();
        DaysPastDue(u32::try_from(days.max(0)).unwrap_or(u32::MAX))
    }

    /// The number of days.
    pub const fn days(self) -> u32 {
        self.0
    }

    /// The bucket this falls in.
    pub const fn bucket(self) -> DpdBucket {
        match self.0 {
            0 => DpdBucket::Current,
            1..=30 => DpdBucket::D1To30,
            31..=60 => DpdBucket::D31To60,
            61..=90 => DpdBucket::D61To90,
            _ => DpdBucket::D90Plus,
        }
    }
}

impl fmt::Display for DaysPastDue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dpd", self.0)
    }
}

/// Delinquency buckets: current, 1–30, 31–60, 61–90, 90+.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpdBucket {
    /// Nothing overdue.
    Current,
    /// 1 to 30 days past due.
    D1To30,
    /// 31 to 60 days past due.
    D31To60,
    /// 61 to 90 days past due.
    D61To90,
    /// More than 90 days past due.
    D90Plus,
}

impl DpdBucket {
    /// All buckets in order of severity.
    pub const ALL: [DpdBucket; 5] = [
        DpdBucket::Current,
        DpdBucket::D1To30,
        DpdBucket::D31To60,
        DpdBucket::D61To90,
        DpdBucket::D90Plus,
    ];

    /// The label used in reports and files.
    pub const fn as_str(self) -> &'static str {
        match self {
            DpdBucket::Current => "current",
            DpdBucket::D1To30 => "1-30",
            DpdBucket::D31To60 => "31-60",
            DpdBucket::D61To90 => "61-90",
            DpdBucket::D90Plus => "90+",
        }
    }

    /// Position in [`DpdBucket::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn bucket_edges() {
        let cases = [
            (0, "current"),
            (1, "1-30"),
            (30, "1-30"),
            (31, "31-60"),
            (60, "31-60"),
            (61, "61-90"),
            (90, "61-90"),
            (91, "90+"),
        ];
        for (d, label) in cases {
            assert_eq!(DaysPastDue::new(d).bucket().as_str(), label, "{d}");
        }
    }

    #[test]
    fn dpd_between_dates_is_never_negative() {
        let due = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        assert_eq!(DaysPastDue::between(due, due).days(), 0);
        assert_eq!(
            DaysPastDue::between(due, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()).days(),
            0
        );
        assert_eq!(
            DaysPastDue::between(due, NaiveDate::from_ymd_opt(2026, 4, 9).unwrap()).days(),
            30
        );
    }
}
