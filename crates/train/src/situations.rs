//! Accounts of a dataset as the recommender sees them on a day: the response state, the facts
//! the contact rules need, the balance — what `forbear plan` and `forbear evaluate policy` ask
//! the recommender about.

use crate::risk::LoadedAccount;
use chrono::NaiveDate;
use forbear_features::DpdSeries;

pub use forbear_strategy::facts::AccountDay;

/// The account on local `date` from its records known by the evening before; `None` when it was
/// not open or had no bill yet. `series` may be given when already built (it must reach the day
/// before).
pub fn account_day(
    a: &LoadedAccount,
    date: NaiveDate,
    series: Option<&DpdSeries>,
) -> Option<AccountDay> {
    if a.closed_on.is_some_and(|c| c < date) {
        return None;
    }
    AccountDay::of(
        a.id,
        &a.history,
        date,
        a.zone,
        a.consent,
        a.currency,
        &a.language,
        series,
    )
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
