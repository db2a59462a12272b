//! Accounts of a dataset as the recommender sees them on a day: the response state, the facts
//! the contact rules need, the balance — what `forbear plan` and `forbear evaluate policy` ask
//! the recommender about.

use crate::risk::LoadedAccount;
use chrono::{Duration, NaiveDate, NaiveTime};
use forbear_core::{CustomerType, Money};
use forbear_features::{DpdSeries, ResponseState};
use forbear_strategy::facts::KnownFacts;
use forbear_strategy::recommend::Situation;

/// One account on one day.
#[derive(Debug, Clone)]
pub struct AccountDay {
    /// Account id.
    pub id: i64,
    /// State on the morning of the day.
    pub state: ResponseState,
    /// What the rules need.
    pub facts: KnownFacts,
    /// Amount due and unpaid on the evening before.
    pub balance: Money,
    /// Customer type.
    pub customer_type: CustomerType,
    /// Language of messages.
    pub language: String,
}

impl AccountDay {
    /// The recommender's view of it, deciding from the start of the local day.
    pub fn situation(&self) -> Situation<'_> {
        Situation {
            account: self.id,
            state: &self.state,
            facts: self.facts.facts(),
            balance: self.balance,
            customer_type: self.customer_type,
            language: &self.language,
            not_before: self.facts.zone.at(self.state.date(), NaiveTime::MIN),
        }
    }
}

/// The account on local `date` from its records known by the evening before; `None` when it was
/// not open or had no bill yet. `series` may be given when already built (it must reach the day
/// before).
pub fn account_day(
    a: &LoadedAccount,
    date: NaiveDate,
    series: Option<&DpdSeries>,
) -> Option<AccountDay> {
    let h = &a.history;
    if h.facts.opened_on >= date || a.closed_on.is_some_and(|c| c < date) {
        return None;
    }
    let first = h.bills.first()?.issued_on;
    let eve = date - Duration::days(1);
    let built;
    let series = match series {
        Some(s) => s,
        None => {
            built = DpdSeries::new(h, first.min(eve), eve);
            &built
        }
    };
    let balance = (series.billed(eve) - series.covered(eve)).max(0);
    Some(AccountDay {
        id: a.id,
        state: ResponseState::at(h, series, date, a.zone),
        facts: KnownFacts::of(h, date, a.zone, a.consent),
        balance: Money::new(balance, a.currency),
        customer_type: h.facts.customer_type,
        language: a.language.clone(),
    })
}

/// Runs `f` over chunks of `items` on every core and concatenates the results in order.
pub fn par_map<T: Sync, U: Send>(items: &[T], f: &(dyn Fn(&T) -> Vec<U> + Sync)) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().flat_map(f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
