//! Generating history: every account lived through the whole period under the logging policy,
//! written as a dataset.
//!
//! Accounts are independent, so history is generated account by account (each with its own
//! random stream) in chunks spread over threads, and chunks are written in account order. The
//! output depends only on the seed and the arguments, never on the number of threads.

use crate::customer::{Action, Customer, Event};
use crate::policy::{LoggingPolicy, POLICY_NAME};
use crate::population::{SegmentMix, draw_account, hierarchy_of};
use crate::rng::Rng;
use crate::stats::PortfolioStats;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use forbear_core::{AccountId, Channel};
use forbear_data::contract::RowBuilder;
use forbear_data::write::RowCounts;
use forbear_data::{
    Account, AccountBuilder, Contact, ContactBuilder, DataError, DatasetWriter, Dispute,
    DisputeBuilder, Invoice, InvoiceBuilder, Payment, PaymentBuilder, Promise, PromiseBuilder,
    Truth, TruthBuilder,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

/// Accounts per chunk of work.
pub const CHUNK_ACCOUNTS: u64 = 2_048;

/// What to generate.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Number of accounts.
    pub accounts: u64,
    /// Months of history.
    pub months: u32,
    /// Run seed.
    pub seed: u64,
    /// Last day of history.
    pub end: NaiveDate,
    /// Segment mix.
    pub mix: SegmentMix,
    /// The policy that did the dunning.
    pub policy: LoggingPolicy,
    /// Worker threads (0: one per core).
    pub threads: usize,
}

/// The default last day of history: fixed, so that runs are reproducible.
pub fn default_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap_or_default()
}

impl HistoryConfig {
    /// Defaults for `accounts` accounts.
    pub fn new(accounts: u64, months: u32, seed: u64) -> Self {
        HistoryConfig {
            accounts,
            months,
            seed,
            end: default_end(),
            mix: SegmentMix::default(),
            policy: LoggingPolicy::default(),
            threads: 0,
        }
    }

    /// First day of history.
    pub fn start(&self) -> NaiveDate {
        self.end
            .checked_sub_months(Months::new(self.months))
            .unwrap_or(self.end)
            .succ_opt()
            .unwrap_or(self.end)
    }
}

/// One account's simulated history.
#[derive(Debug)]
pub struct AccountHistory {
    /// The customer at the end of the history.
    pub customer: Customer,
    /// Everything that happened, by day, with the logging policy's decision for contacts.
    pub events: Vec<(NaiveDate, Event, Option<crate::policy::Decision>)>,
    /// The account's DPD bucket at each month end of the history (while open).
    pub month_end_buckets: Vec<(NaiveDate, forbear_core::DpdBucket)>,
}

/// Lives one account through the whole history under the logging policy.
pub fn simulate_account(cfg: &HistoryConfig, id: AccountId) -> AccountHistory {
    simulate_account_observed(cfg, id, &mut |_, _, _, _| {})
}

/// What an observer of a simulation is shown at each of the logging policy's decisions, before
/// the day is lived: the customer, the day, the decision, and everything that happened so far.
pub type Observer<'a> = dyn FnMut(
        &Customer,
        NaiveDate,
        &crate::policy::Decision,
        &[(NaiveDate, Event, Option<crate::policy::Decision>)],
    ) + 'a;

/// [`simulate_account`], calling `observe` at every decision of the logging policy — so the
/// strategy lab can ask another policy, and the truth, what it would have done there.
pub fn simulate_account_observed(
    cfg: &HistoryConfig,
    id: AccountId,
    observe: &mut Observer<'_>,
) -> AccountHistory {
    let mut rng = Rng::new(cfg.seed, id.get() as u64);
    let start = cfg.start();
    let hierarchy = hierarchy_of(cfg.seed, id, &cfg.mix);
    let (mut profile, traits) = draw_account(id, &cfg.mix, start, hierarchy, &mut rng);
    profile.opened_on = profile.opened_on.min(cfg.end);
    let mut policy_rng = Rng::new(cfg.seed ^ 0x5eed_0fd0_11c7, id.get() as u64);
    let life_rng = Rng::new(cfg.seed ^ 0x11fe, id.get() as u64);
    let mut customer = Customer::new(profile, traits, life_rng);
    let mut events = Vec::new();
    let mut today = Vec::new();
    let mut month_end_buckets = Vec::new();
    let mut day = start;
    while day <= cfg.end {
        let decision = cfg.policy.decide(&customer, day, &mut policy_rng);
        if let Some(d) = &decision {
            observe(&customer, day, d, &events);
        }
        let actions: Vec<Action> = decision
            .iter()
            .map(|d| Action::Contact {
                action: d.action,
                at: d.at,
            })
            .collect();
        customer.advance_day(day, &actions, &mut today);
        for e in today.drain(..) {
            let d = matches!(e, Event::Contacted(_))
                .then_some(decision)
                .flatten();
            events.push((day, e, d));
        }
        let Some(next) = day.checked_add_days(Days::new(1)) else {
            break;
        };
        if next.day() == 1 && day >= customer.profile.opened_on && customer.churned_on().is_none() {
            month_end_buckets.push((day, customer.dpd(day).bucket()));
        }
        day = next;
    }
    AccountHistory {
        customer,
        events,
        month_end_buckets,
    }
}

/// Rows of a chunk of accounts, column by column.
#[derive(Debug)]
pub struct ChunkRows {
    accounts: AccountBuilder,
    invoices: InvoiceBuilder,
    payments: PaymentBuilder,
    contacts: ContactBuilder,
    disputes: DisputeBuilder,
    promises: PromiseBuilder,
    truth: TruthBuilder,
    stats: PortfolioStats,
}

impl ChunkRows {
    fn new() -> Self {
        let n = CHUNK_ACCOUNTS as usize;
        ChunkRows {
            accounts: AccountBuilder::with_capacity(n),
            invoices: InvoiceBuilder::with_capacity(n * 12),
            payments: PaymentBuilder::with_capacity(n * 12),
            contacts: ContactBuilder::with_capacity(n * 2),
            disputes: DisputeBuilder::with_capacity(16),
            promises: PromiseBuilder::with_capacity(n / 8),
            truth: TruthBuilder::with_capacity(n),
            stats: PortfolioStats::default(),
        }
    }
}

impl ChunkRows {
    /// Appends the chunk's rows to the dataset's tables, leaving the builders empty.
    fn write_to(&mut self, writer: &mut DatasetWriter) -> Result<(), DataError> {
        writer.accounts.append(&mut self.accounts)?;
        writer.invoices.append(&mut self.invoices)?;
        writer.payments.append(&mut self.payments)?;
        writer.contacts.append(&mut self.contacts)?;
        writer.disputes.append(&mut self.disputes)?;
        writer.promises.append(&mut self.promises)?;
        if let Some(t) = writer.truth.as_mut() {
            t.append(&mut self.truth)?;
        }
        Ok(())
    }
}

fn text(s: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(s)
}

/// Turns one account's history into rows.
pub fn account_rows(h: &AccountHistory, rows: &mut ChunkRows) {
    account_rows_with(h, &|_| text(POLICY_NAME), rows)
}

/// Names the policy that made a contact (`contacts.policy`).
pub type PolicyName<'a> = dyn Fn(&crate::policy::Decision) -> Cow<'static, str> + 'a;

/// Writes histories lived under any policy (the strategy lab's arms) as a dataset of the
/// contract, published atomically into `dir`; `policy` names the policy of each contact.
pub fn write_histories(
    dir: &Path,
    histories: &[AccountHistory],
    policy: &PolicyName<'_>,
    overwrite: bool,
) -> Result<RowCounts, DataError> {
    let mut writer = DatasetWriter::create(dir, true, overwrite)?;
    for chunk in histories.chunks(CHUNK_ACCOUNTS as usize) {
        let mut rows = ChunkRows::new();
        for h in chunk {
            account_rows_with(h, policy, &mut rows);
        }
        rows.write_to(&mut writer)?;
    }
    writer.commit()
}

/// [`account_rows`] with the policy of each contact named by `policy`.
pub fn account_rows_with(h: &AccountHistory, policy: &PolicyName<'_>, rows: &mut ChunkRows) {
    let c = &h.customer;
    let p = &c.profile;
    let t = &c.traits;
    let id = p.id.get();
    let currency = text(p.market.currency.as_str());
    rows.accounts.push(Account {
        account_id: id,
        parent_account_id: p.parent.map(AccountId::get),
        customer_type: text(p.customer_type.as_str()),
        subscription_type: text(p.subscription.as_str()),
        service_level: text(p.service_level.as_str()),
        product: text(p.product.as_str()),
        services: p.services as i32,
        time_zone: text(p.zone.name()),
        language: text(p.market.language),
        age_band: p.age.map(|a| text(a.as_str())),
        consent_sms: p.consent.contains(Channel::Sms),
        consent_email: p.consent.contains(Channel::Email),
        consent_push: p.consent.contains(Channel::Push),
        consent_messaging: p.consent.contains(Channel::Messaging),
        consent_ivr: p.consent.contains(Channel::Ivr),
        consent_agent_call: p.consent.contains(Channel::AgentCall),
        consent_letter: p.consent.contains(Channel::Letter),
        autopay: p.autopay,
        currency: currency.clone(),
        credit_limit_minor: p.credit_limit_minor,
        opened_on: p.opened_on,
        closed_on: c.churned_on(),
    });
    // Payments first pass: reversals and the timeline for paid-within windows.
    let mut reversed: BTreeMap<i64, NaiveDate> = BTreeMap::new();
    let mut open_promises: BTreeMap<i64, Promise> = BTreeMap::new();
    let mut open_disputes: BTreeMap<i64, Dispute> = BTreeMap::new();
    let mut paid_at: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for (_, e, _) in &h.events {
        match e {
            Event::PaymentReversed { payment_id, on } => {
                reversed.insert(*payment_id, *on);
            }
            Event::PaymentReceived { at, amount, .. } => paid_at.push((*at, *amount)),
            _ => {}
        }
    }
    let paid_between = |from: DateTime<Utc>, days: i64| -> i64 {
        let to = from + chrono::Duration::days(days);
        paid_at
            .iter()
            .filter(|(at, _)| *at > from && *at <= to)
            .map(|(_, a)| a)
            .sum()
    };
    let mut contact_seq = 0;
    for (_, e, decision) in &h.events {
        match e {
            Event::InvoiceIssued {
                invoice_id,
                service_id,
                amount,
                issued_on,
                due_on,
            } => {
                let period_end = issued_on.pred_opt().unwrap_or(*issued_on);
                rows.invoices.push(Invoice {
                    invoice_id: *invoice_id,
                    account_id: id,
                    service_id: *service_id,
                    currency: currency.clone(),
                    amount_minor: *amount,
                    issued_on: *issued_on,
                    due_on: *due_on,
                    period_start: period_end
                        .checked_sub_months(Months::new(1))
                        .and_then(|d| d.succ_opt())
                        .unwrap_or(period_end),
                    period_end,
                });
            }
            Event::PaymentReceived {
                payment_id,
                invoice_id,
                at,
                amount,
                method,
            } => rows.payments.push(Payment {
                payment_id: *payment_id,
                account_id: id,
                invoice_id: *invoice_id,
                paid_at: *at,
                currency: currency.clone(),
                amount_minor: *amount,
                method: text(method),
                reversed_on: reversed.get(payment_id).copied(),
            }),
            Event::Contacted(o) => {
                let Some(d) = decision else { continue };
                contact_seq += 1;
                rows.contacts.push(Contact {
                    // Unique and increasing in file order.
                    contact_id: id * 10_000 + contact_seq,
                    account_id: id,
                    invoice_id: o.invoice_id,
                    sent_at_utc: o.at,
                    sent_at_local: p.zone.local(o.at),
                    channel: text(o.action.channel.as_str()),
                    send_window: text(o.action.window.as_str()),
                    tone: text(o.action.tone.as_str()),
                    template: Cow::Owned(o.action.template_key(p.market.language)),
                    days_past_due: o.days_past_due,
                    balance_minor: o.balance,
                    policy: policy(d),
                    propensity: d.propensity,
                    explored: d.explored,
                    delivered: o.delivered,
                    responded: o.responded,
                    conversation: o.conversation,
                    promise_made: o.promise_made,
                    paid_7d_minor: paid_between(o.at, 7),
                    paid_30d_minor: paid_between(o.at, 30),
                    complaint: o.complaint,
                    opted_out: o.opted_out,
                });
            }
            Event::PromiseMade {
                promise_id,
                invoice_id,
                amount,
                made_on,
                due_on,
                channel,
            } => {
                let row = Promise {
                    promise_id: *promise_id,
                    account_id: id,
                    invoice_id: *invoice_id,
                    currency: currency.clone(),
                    amount_minor: *amount,
                    made_on: *made_on,
                    due_on: *due_on,
                    channel: Some(text(channel.as_str())),
                    status: text("open"),
                    paid_minor: 0,
                };
                open_promises.insert(*promise_id, row);
            }
            Event::PromiseSettled {
                promise_id,
                kept,
                paid,
            } => {
                if let Some(mut row) = open_promises.remove(promise_id) {
                    row.status = text(if *kept { "kept" } else { "broken" });
                    row.paid_minor = *paid;
                    rows.promises.push(row);
                }
            }
            Event::DisputeOpened {
                dispute_id,
                invoice_id,
                amount,
                on,
                reason,
            } => {
                let row = Dispute {
                    dispute_id: *dispute_id,
                    account_id: id,
                    invoice_id: *invoice_id,
                    currency: currency.clone(),
                    amount_minor: *amount,
                    opened_on: *on,
                    reason: text(reason),
                    status: text("open"),
                    resolved_on: None,
                };
                open_disputes.insert(*dispute_id, row);
            }
            Event::DisputeResolved {
                dispute_id,
                upheld,
                on,
            } => {
                if let Some(mut row) = open_disputes.remove(dispute_id) {
                    row.status = text(if *upheld { "upheld" } else { "rejected" });
                    row.resolved_on = Some(*on);
                    rows.disputes.push(row);
                }
            }
            Event::HardshipDeclared { .. }
            | Event::PlanAccepted { .. }
            | Event::Churned { .. }
            | Event::PaymentReversed { .. } => {}
        }
    }
    // Promises and disputes still open at the end of the history.
    for (_, mut row) in open_promises {
        row.paid_minor = paid_at
            .iter()
            .filter(|(at, _)| at.date_naive() >= row.made_on)
            .map(|(_, a)| a)
            .sum::<i64>()
            .min(row.amount_minor);
        rows.promises.push(row);
    }
    for (_, row) in open_disputes {
        rows.disputes.push(row);
    }
    rows.truth.push(Truth {
        account_id: id,
        lateness_reason: text(t.reason.as_str()),
        pay_schedule: text(t.schedule.as_str()),
        payday: t.payday as i32,
        income_regularity: t.income_regularity,
        forgetfulness: t.forgetfulness,
        capacity: t.capacity,
        resp_sms: t.responsiveness[0],
        resp_email: t.responsiveness[1],
        resp_push: t.responsiveness[2],
        resp_messaging: t.responsiveness[3],
        resp_ivr: t.responsiveness[4],
        resp_agent_call: t.responsiveness[5],
        resp_letter: t.responsiveness[6],
        reachable_from: t.reachable.0 as i32,
        reachable_to: t.reachable.1 as i32,
        tone_friendly: t.tone_effect[0],
        tone_empathetic: t.tone_effect[1],
        tone_neutral: t.tone_effect[2],
        tone_firm: t.tone_effect[3],
        complaint_propensity: t.complaint_propensity,
        churn_propensity: t.churn_propensity,
        hardship_spells: c.hardship_spells as i32,
        hardship_days: c.hardship_days as i32,
    });
}

/// Generates the rows of accounts `first..first + n` (ids start at 1).
pub fn generate_chunk(cfg: &HistoryConfig, first: u64, n: u64) -> ChunkRows {
    let mut rows = ChunkRows::new();
    for k in first..first + n {
        let Ok(id) = AccountId::new(k as i64 + 1) else {
            continue;
        };
        let h = simulate_account(cfg, id);
        rows.stats.add(&h);
        account_rows(&h, &mut rows);
    }
    rows
}

/// What a generation run wrote and how the portfolio behaved.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Rows per table.
    pub counts: RowCounts,
    /// Realism statistics of the whole portfolio.
    pub stats: PortfolioStats,
}

/// Generates the whole history into `dir`, calling `progress(accounts_done)` as chunks land.
pub fn generate(
    cfg: &HistoryConfig,
    dir: &Path,
    overwrite: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Generated, DataError> {
    let mut stats = PortfolioStats::default();
    let mut writer = DatasetWriter::create(dir, true, overwrite)?;
    let chunks = cfg.accounts.div_ceil(CHUNK_ACCOUNTS);
    let threads = if cfg.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        cfg.threads
    };
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::sync_channel::<(u64, ChunkRows)>(threads * 2);
    let result = std::thread::scope(|s| -> Result<(), DataError> {
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= chunks {
                        break;
                    }
                    let first = k * CHUNK_ACCOUNTS;
                    let n = CHUNK_ACCOUNTS.min(cfg.accounts - first);
                    let rows = generate_chunk(cfg, first, n);
                    if tx.send((k, rows)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, ChunkRows> = BTreeMap::new();
        let mut want = 0u64;
        for (k, rows) in rx.iter() {
            pending.insert(k, rows);
            while let Some(mut rows) = pending.remove(&want) {
                stats.merge(&rows.stats);
                rows.write_to(&mut writer)?;
                want += 1;
                progress((want * CHUNK_ACCOUNTS).min(cfg.accounts));
            }
        }
        Ok(())
    });
    result?;
    Ok(Generated {
        counts: writer.commit()?,
        stats,
    })
}
