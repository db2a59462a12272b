//! Who the customers are: markets, the segment mix, and the latent traits drawn per segment.
//!
//! Everything here is drawn once per account from the account's own random stream.

use crate::rng::Rng;
use chrono::{Days, NaiveDate};
use forbear_core::{
    AccountId, AgeBand, Channel, Currency, CustomerType, Product, ServiceLevel, SubscriptionType,
    TimeZone, rules::ChannelSet,
};

/// A market: time zone, currency, language and price level.
#[derive(Debug, Clone, Copy)]
pub struct Market {
    /// IANA time zone of the customers.
    pub zone: &'static str,
    /// Currency of the bills.
    pub currency: Currency,
    /// Language of messages.
    pub language: &'static str,
    /// Monthly fee of a standard mobile line, in minor units.
    pub base_fee_minor: i64,
}

/// The markets simulated and their share of accounts.
pub static MARKETS: [(Market, f64); 6] = [
    (
        Market {
            zone: "Europe/Madrid",
            currency: Currency::EUR,
            language: "es",
            base_fee_minor: 3_500,
        },
        0.25,
    ),
    (
        Market {
            zone: "Europe/London",
            currency: Currency::GBP,
            language: "en",
            base_fee_minor: 3_000,
        },
        0.15,
    ),
    (
        Market {
            zone: "America/Mexico_City",
            currency: Currency::MXN,
            language: "es",
            base_fee_minor: 55_000,
        },
        0.20,
    ),
    (
        Market {
            zone: "America/New_York",
            currency: Currency::USD,
            language: "en",
            base_fee_minor: 6_000,
        },
        0.20,
    ),
    (
        Market {
            zone: "America/Los_Angeles",
            currency: Currency::USD,
            language: "en",
            base_fee_minor: 6_500,
        },
        0.10,
    ),
    (
        Market {
            zone: "Asia/Manila",
            currency: Currency::parse_const(*b"PHP"),
            language: "en",
            base_fee_minor: 150_000,
        },
        0.10,
    ),
];

/// Shares of customer types among accounts (configurable with `--mix`).
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMix {
    /// Weight of each [`CustomerType`], in [`CustomerType::ALL`] order.
    pub weights: [f64; 7],
    /// Share of accounts that are prepaid.
    pub prepaid_share: f64,
}

impl Default for SegmentMix {
    fn default() -> Self {
        // consumer, small_business, enterprise, vip, student, military, government
        SegmentMix {
            weights: [0.70, 0.10, 0.02, 0.04, 0.08, 0.03, 0.03],
            prepaid_share: 0.15,
        }
    }
}

impl SegmentMix {
    /// Parses `consumer=0.7,small_business=0.1,…` (unnamed types get weight 0) and
    /// `prepaid=0.15`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut mix = SegmentMix {
            weights: [0.0; 7],
            prepaid_share: SegmentMix::default().prepaid_share,
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("segment mix: {part:?} is not name=weight"))?;
            let w: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("segment mix: weight {value:?} of {name} is not a number"))?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "segment mix: weight of {name} must be ≥ 0, got {w}"
                ));
            }
            if name.trim() == "prepaid" {
                if w > 1.0 {
                    return Err(format!(
                        "segment mix: prepaid share must be in [0, 1], got {w}"
                    ));
                }
                mix.prepaid_share = w;
            } else {
                let t =
                    CustomerType::parse(name.trim()).map_err(|e| format!("segment mix: {e}"))?;
                mix.weights[t.index()] = w;
            }
        }
        if mix.weights.iter().sum::<f64>() <= 0.0 {
            return Err("segment mix: at least one customer type needs a positive weight".into());
        }
        Ok(mix)
    }
}

/// The main reason a customer pays late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LatenessReason {
    /// Pays on time unless something unusual happens.
    None,
    /// Forgets bills; one reminder usually cures.
    Forgot,
    /// Pays when money arrives (payday after the due date).
    CashFlow,
    /// Prone to hardship spells in which they cannot pay.
    Hardship,
    /// Disputes bills before paying.
    Dispute,
    /// Will not pay unless pressed hard.
    WontPay,
}

impl LatenessReason {
    /// All reasons, in the order of `truth.lateness_reason`'s value set.
    pub const ALL: [LatenessReason; 6] = [
        LatenessReason::None,
        LatenessReason::Forgot,
        LatenessReason::CashFlow,
        LatenessReason::Hardship,
        LatenessReason::Dispute,
        LatenessReason::WontPay,
    ];

    /// The name written in the truth table.
    pub const fn as_str(self) -> &'static str {
        match self {
            LatenessReason::None => "none",
            LatenessReason::Forgot => "forgot",
            LatenessReason::CashFlow => "cash_flow",
            LatenessReason::Hardship => "hardship",
            LatenessReason::Dispute => "dispute",
            LatenessReason::WontPay => "wont_pay",
        }
    }
}

/// How income arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaySchedule {
    /// Once a month on `payday`.
    Monthly,
    /// Every 14 days, on days where `days_since_epoch % 14 == payday`.
    Biweekly,
    /// No regular payday.
    Irregular,
}

impl PaySchedule {
    /// The name written in the truth table.
    pub const fn as_str(self) -> &'static str {
        match self {
            PaySchedule::Monthly => "monthly",
            PaySchedule::Biweekly => "biweekly",
            PaySchedule::Irregular => "irregular",
        }
    }
}

/// The latent traits of a customer: the truth the simulator acts on and models never see.
#[derive(Debug, Clone, PartialEq)]
pub struct Traits {
    /// Main reason for paying late.
    pub reason: LatenessReason,
    /// How income arrives.
    pub schedule: PaySchedule,
    /// Payday: day of month (monthly) or day of the fortnight (bi-weekly).
    pub payday: u32,
    /// Regularity of income, 0–1.
    pub income_regularity: f64,
    /// Probability of forgetting a bill without a reminder.
    pub forgetfulness: f64,
    /// Share of a bill payable from one payday in normal times.
    pub capacity: f64,
    /// Base probability of reading/answering a contact, per channel ([`Channel::ALL`] order).
    pub responsiveness: [f64; 7],
    /// Local hours `[from, to)` when the customer is usually reachable.
    pub reachable: (u32, u32),
    /// Effect of each tone on paying after a contact ([`forbear_core::Tone::ALL`] order).
    pub tone_effect: [f64; 4],
    /// Base probability of complaining about a contact.
    pub complaint_propensity: f64,
    /// Base monthly probability of leaving.
    pub churn_propensity: f64,
    /// Monthly probability of a hardship shock (job loss, illness).
    pub shock_rate: f64,
}

/// An account's observable facts, as the `accounts` table has them.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Account id.
    pub id: AccountId,
    /// Corporate parent of a child account.
    pub parent: Option<AccountId>,
    /// Customer type.
    pub customer_type: CustomerType,
    /// Prepaid or postpaid.
    pub subscription: SubscriptionType,
    /// Service tier.
    pub service_level: ServiceLevel,
    /// Product line.
    pub product: Product,
    /// Number of services.
    pub services: u32,
    /// Market (zone, currency, language).
    pub market: &'static Market,
    /// Time zone, parsed.
    pub zone: TimeZone,
    /// Age band (persons only).
    pub age: Option<AgeBand>,
    /// Channels consented to.
    pub consent: ChannelSet,
    /// Autopay on file.
    pub autopay: bool,
    /// Credit limit (postpaid only), minor units.
    pub credit_limit_minor: Option<i64>,
    /// Opening date.
    pub opened_on: NaiveDate,
    /// Billing cycle day (1–28).
    pub cycle_day: u32,
    /// Monthly fee per service, minor units.
    pub fee_minor: i64,
}

fn age_index(age: Option<AgeBand>) -> f64 {
    // 0 for the youngest band … 5 for 65+; organisations count as middle-aged.
    age.map_or(2.5, |a| a.index() as f64)
}

/// The furthest a child account's id lies after its parent's.
const MAX_CHILDREN: i64 = 12;

/// A corporate hierarchy an account belongs to: parents are enterprises or government bodies,
/// and the accounts right after a parent (3 to 12 of them) are its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hierarchy {
    /// The parent account.
    pub parent: AccountId,
    /// The hierarchy's customer type (enterprise or government).
    pub customer_type: CustomerType,
    /// Index in [`MARKETS`] shared by the whole hierarchy.
    pub market: usize,
    /// Whether this account is the parent itself.
    pub is_parent: bool,
}

fn parent_draw(seed: u64, id: i64, mix: &SegmentMix) -> Option<(i64, CustomerType, usize)> {
    let (ent, gov) = (
        mix.weights[CustomerType::Enterprise.index()],
        mix.weights[CustomerType::Government.index()],
    );
    let total: f64 = mix.weights.iter().sum();
    // About a fifth of the organisational share of accounts heads a hierarchy.
    let p_parent = 0.2 * (ent + gov) / total;
    let mut r = Rng::new(seed ^ 0x0b1e_ca7e, id as u64);
    if !r.chance(p_parent) {
        return None;
    }
    let span = r.between(3, MAX_CHILDREN);
    let customer_type = if r.chance(gov / (ent + gov)) {
        CustomerType::Government
    } else {
        CustomerType::Enterprise
    };
    Some((span, customer_type, r.weighted(&MARKETS.map(|m| m.1))))
}

/// The hierarchy of account `id` under run `seed`, if it is a parent or a child.
pub fn hierarchy_of(seed: u64, id: AccountId, mix: &SegmentMix) -> Option<Hierarchy> {
    let k = id.get();
    if let Some((_, customer_type, market)) = parent_draw(seed, k, mix) {
        return Some(Hierarchy {
            parent: id,
            customer_type,
            market,
            is_parent: true,
        });
    }
    ((k - MAX_CHILDREN).max(1)..k).rev().find_map(|j| {
        let (span, customer_type, market) = parent_draw(seed, j, mix)?;
        let parent = AccountId::new(j).ok()?;
        (k - j <= span).then_some(Hierarchy {
            parent,
            customer_type,
            market,
            is_parent: false,
        })
    })
}

/// Draws an account's profile and traits (`hierarchy` from [`hierarchy_of`]).
pub fn draw_account(
    id: AccountId,
    mix: &SegmentMix,
    start: NaiveDate,
    hierarchy: Option<Hierarchy>,
    rng: &mut Rng,
) -> (Profile, Traits) {
    let drawn_type = CustomerType::ALL[rng.weighted(&mix.weights)];
    let customer_type = hierarchy.map_or(drawn_type, |h| h.customer_type);
    let prepaid = !customer_type.is_organisation() && rng.chance(mix.prepaid_share);
    let subscription = if prepaid {
        SubscriptionType::Prepaid
    } else {
        SubscriptionType::Postpaid
    };
    let drawn_market = rng.weighted(&MARKETS.map(|m| m.1));
    let market = &MARKETS[hierarchy.map_or(drawn_market, |h| h.market)].0;
    let zone = TimeZone::parse(market.zone).unwrap_or_else(|_| unreachable_zone(market.zone));
    let age = if customer_type.is_organisation() {
        None
    } else {
        let w = match customer_type {
            CustomerType::Student => [0.75, 0.25, 0.0, 0.0, 0.0, 0.0],
            CustomerType::Military => [0.3, 0.4, 0.2, 0.1, 0.0, 0.0],
            CustomerType::Vip => [0.02, 0.15, 0.3, 0.3, 0.15, 0.08],
            _ => [0.12, 0.22, 0.22, 0.18, 0.14, 0.12],
        };
        Some(AgeBand::ALL[rng.weighted(&w)])
    };
    let ai = age_index(age);
    let service_level = ServiceLevel::ALL[rng.weighted(&match customer_type {
        CustomerType::Vip | CustomerType::Enterprise => [0.0, 0.3, 0.7],
        CustomerType::Student => [0.6, 0.35, 0.05],
        _ => [0.3, 0.5, 0.2],
    })];
    let product = Product::ALL[rng.weighted(&[0.55, 0.2, 0.05, 0.2])];
    let services = match customer_type {
        CustomerType::Enterprise | CustomerType::Government => rng.between(2, 3) as u32,
        CustomerType::SmallBusiness => rng.between(1, 3) as u32,
        _ if product == Product::Bundle => 2,
        _ => 1,
    };
    let level_mult = [0.7, 1.0, 1.6][service_level.index()];
    let product_mult = [1.0, 1.1, 0.8, 1.9][product.index()];
    let fee_minor =
        ((market.base_fee_minor as f64) * level_mult * product_mult * rng.lognormal(0.0, 0.2))
            .round() as i64;

    // Consent: digital channels more often for the young; letters almost always.
    let mut consent = ChannelSet::EMPTY
        .with(Channel::Letter)
        .with(Channel::Ivr)
        .with(Channel::AgentCall);
    let young = 1.0 - ai / 5.0;
    for (c, p) in [
        (Channel::Sms, 0.85 + 0.1 * young),
        (Channel::Email, 0.8),
        (Channel::Push, 0.25 + 0.5 * young),
        (Channel::Messaging, 0.3 + 0.5 * young),
    ] {
        if rng.chance(p) {
            consent = consent.with(c);
        }
    }
    if rng.chance(0.08) {
        consent = consent.without(Channel::AgentCall);
    }
    let autopay = !prepaid
        && rng.chance(if customer_type.is_organisation() {
            0.25
        } else {
            0.35
        });
    let tenure_days = rng.between(-150, 6 * 365);
    let opened_on = start
        .checked_sub_days(Days::new(tenure_days.max(0) as u64))
        .unwrap_or(start)
        .checked_add_days(Days::new((-tenure_days).max(0) as u64))
        .unwrap_or(start);
    let credit_limit_minor =
        (!prepaid).then(|| fee_minor * i64::from(services) * rng.between(3, 8));
    let profile = Profile {
        id,
        parent: hierarchy.filter(|h| !h.is_parent).map(|h| h.parent),
        customer_type,
        subscription,
        service_level,
        product,
        services,
        market,
        zone,
        age,
        consent,
        autopay,
        credit_limit_minor,
        opened_on,
        cycle_day: rng.between(1, 28) as u32,
        fee_minor,
    };
    let traits = draw_traits(&profile, rng);
    (profile, traits)
}

fn unreachable_zone(name: &str) -> TimeZone {
    // MARKETS names only valid zones; a test parses each one.
    panic!("market time zone {name} is not an IANA zone")
}

fn draw_traits(p: &Profile, rng: &mut Rng) -> Traits {
    use LatenessReason as R;
    let reason_w: [f64; 6] = match p.customer_type {
        CustomerType::Consumer => [0.52, 0.20, 0.13, 0.06, 0.03, 0.06],
        CustomerType::Student => [0.35, 0.30, 0.22, 0.05, 0.02, 0.06],
        CustomerType::SmallBusiness => [0.45, 0.12, 0.25, 0.06, 0.06, 0.06],
        CustomerType::Enterprise | CustomerType::Government => [0.55, 0.05, 0.25, 0.0, 0.13, 0.02],
        CustomerType::Vip => [0.75, 0.15, 0.05, 0.02, 0.02, 0.01],
        CustomerType::Military => [0.6, 0.2, 0.1, 0.05, 0.02, 0.03],
    };
    let reason = R::ALL[rng.weighted(&reason_w)];
    let schedule = match rng.weighted(&[0.6, 0.25, 0.15]) {
        0 => PaySchedule::Monthly,
        1 => PaySchedule::Biweekly,
        _ => PaySchedule::Irregular,
    };
    let payday = match schedule {
        PaySchedule::Monthly => [1, 15, 25, 28, 30][rng.weighted(&[0.3, 0.15, 0.2, 0.15, 0.2])],
        PaySchedule::Biweekly => rng.between(0, 13) as u32,
        PaySchedule::Irregular => 0,
    };
    let income_regularity = match schedule {
        PaySchedule::Irregular => rng.share(0.3, 0.6),
        _ => rng.share(0.85, 0.6),
    };
    let forgetfulness = match reason {
        R::Forgot => rng.share(0.6, 0.5),
        R::None => rng.share(0.03, 0.5),
        _ => rng.share(0.1, 0.5),
    };
    let capacity = match reason {
        R::Hardship => rng.share(0.55, 0.5),
        R::CashFlow => rng.share(0.8, 0.5),
        _ => rng.share(0.97, 0.5),
    };
    let ai = age_index(p.age);
    let young = 1.0 - ai / 5.0;
    let noise = |rng: &mut Rng, m: f64| rng.share(m.clamp(0.01, 0.99), 0.5);
    let responsiveness = [
        noise(rng, 0.25 + 0.15 * young), // sms
        noise(rng, 0.12 + 0.14 * young), // email
        noise(rng, 0.10 + 0.25 * young), // push
        noise(rng, 0.20 + 0.30 * young), // messaging
        noise(rng, 0.22 - 0.12 * young), // ivr
        noise(rng, 0.45 - 0.2 * young),  // agent call
        noise(rng, 0.18 - 0.10 * young), // letter
    ];
    let reachable = if p.customer_type.is_organisation() {
        (9, 17)
    } else {
        let from = 8 + rng.below(4) as u32 + if rng.chance(0.5) { 8 } else { 0 };
        let from = from.min(18);
        (from, (from + 3 + rng.below(4) as u32).min(21))
    };
    // friendly, empathetic, neutral, firm
    let base_tone: [f64; 4] = match reason {
        R::None => [1.2, 1.0, 1.1, 0.8],
        R::Forgot => [1.35, 1.0, 1.1, 0.7],
        R::CashFlow => [1.0, 1.25, 1.0, 0.85],
        R::Hardship => [0.8, 1.7, 0.8, 0.4],
        R::Dispute => [0.7, 0.9, 0.9, 0.5],
        R::WontPay => [0.5, 0.6, 0.8, 1.6],
    };
    let tone_effect = base_tone.map(|t| t * rng.lognormal(0.0, 0.12));
    let complaint_propensity = rng.share(
        if reason == R::WontPay || reason == R::Dispute {
            0.004
        } else {
            0.0012
        },
        0.6,
    );
    let churn_propensity = rng.share(0.012, 0.5);
    let shock_rate = match reason {
        R::Hardship => 0.05,
        _ => 0.004 + 0.01 * (1.0 - income_regularity),
    };
    Traits {
        reason,
        schedule,
        payday,
        income_regularity,
        forgetfulness,
        capacity,
        responsiveness,
        reachable,
        tone_effect,
        complaint_propensity,
        churn_propensity,
        shock_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_zones_parse() {
        for (m, _) in &MARKETS {
            TimeZone::parse(m.zone).unwrap();
        }
    }

    #[test]
    fn hierarchies_share_type_and_market_and_point_back_to_a_parent() {
        let mix = SegmentMix::default();
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let (mut parents, mut children) = (0, 0);
        for k in 1..=20_000 {
            let id = AccountId::new(k).unwrap();
            let Some(h) = hierarchy_of(9, id, &mix) else {
                continue;
            };
            let (p, _) = draw_account(id, &mix, start, Some(h), &mut Rng::new(9, k as u64));
            assert!(matches!(
                p.customer_type,
                CustomerType::Enterprise | CustomerType::Government
            ));
            if h.is_parent {
                parents += 1;
                assert_eq!(p.parent, None);
            } else {
                children += 1;
                let parent = p.parent.unwrap();
                assert!(parent < id && id.get() - parent.get() <= MAX_CHILDREN);
                let ph = hierarchy_of(9, parent, &mix).unwrap();
                assert!(
                    ph.is_parent && ph.market == h.market && ph.customer_type == h.customer_type
                );
            }
        }
        assert!(
            parents > 50 && children > 3 * parents,
            "{parents} parents, {children} children"
        );
    }

    #[test]
    fn segment_mix_parses_and_rejects_nonsense() {
        let m = SegmentMix::parse("consumer=1, vip=0.5, prepaid=0").unwrap();
        assert_eq!(m.weights[CustomerType::Vip.index()], 0.5);
        assert_eq!(m.prepaid_share, 0.0);
        assert!(
            SegmentMix::parse("alien=1")
                .unwrap_err()
                .contains("unknown customer type")
        );
        assert!(SegmentMix::parse("consumer=-1").is_err());
        assert!(SegmentMix::parse("consumer=0").is_err());
    }
}
