//! The tables of the contract, each declared once.
//!
//! A declaration gives, per column, the Rust type (which fixes the Arrow type and nullability
//! through [`Cell`](crate::cell::Cell)), the unit or value set, and the meaning (the doc comment).
//! The schema, the builders and the documentation are generated from it.

use crate::cell::{Cell, Text};
use crate::contract::{ColumnSpec, RowBuilder, TableRow, TableSpec};
use arrow_array::ArrayRef;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

macro_rules! table {
    (
        $(#[doc = $tdoc:literal])*
        $row:ident, $builder:ident, $name:literal, simulator_only = $sim:literal, {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ty => $unit:literal ),+ $(,)?
        }
    ) => {
        $(#[doc = $tdoc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $row {
            $( $(#[doc = $doc])* pub $field: $ty ),+
        }

        /// Column builder of the table.
        #[derive(Debug)]
        pub struct $builder {
            len: usize,
            $( $field: <$ty as Cell>::Builder ),+
        }

        impl RowBuilder<$row> for $builder {
            fn with_capacity(capacity: usize) -> Self {
                $builder { len: 0, $( $field: <$ty as Cell>::builder(capacity) ),+ }
            }
            fn push_ref(&mut self, row: &$row) {
                self.len += 1;
                $( <$ty as Cell>::push_ref(&mut self.$field, &row.$field); )+
            }
            fn len(&self) -> usize {
                self.len
            }
            fn finish(&mut self) -> Vec<ArrayRef> {
                self.len = 0;
                vec![$( <$ty as Cell>::finish(&mut self.$field) ),+]
            }
        }

        impl TableRow for $row {
            const TABLE: &'static str = $name;
            type Builder = $builder;
            fn spec() -> TableSpec {
                TableSpec {
                    name: $name,
                    meaning: concat!($($tdoc),*).trim_ascii(),
                    simulator_only: $sim,
                    columns: vec![$(
                        ColumnSpec {
                            name: stringify!($field),
                            data_type: <$ty as Cell>::data_type(),
                            nullable: <$ty as Cell>::NULLABLE,
                            unit: $unit,
                            meaning: concat!($($doc),*).trim_ascii(),
                        }
                    ),+],
                }
            }
        }
    };
}

table!(
    /// One customer account with its segment attributes, contact preferences and credit terms.
    Account, AccountBuilder, "accounts", simulator_only = false, {
        /// Account id, unique.
        account_id: i64 => "id",
        /// The corporate parent of a child account (null for stand-alone accounts and parents).
        parent_account_id: Option<i64> => "id",
        /// Who the customer is.
        customer_type: Text => "consumer, small_business, enterprise, vip, student, military, government",
        /// How service is paid for; prepaid accounts are never invoiced.
        subscription_type: Text => "prepaid, postpaid",
        /// Service tier.
        service_level: Text => "basic, standard, premium",
        /// Product line.
        product: Text => "mobile, broadband, tv, bundle",
        /// Number of services (subscriptions) on the account; invoices name one of them.
        services: i32 => "count ≥ 1",
        /// The customer's time zone; contacts are timed in it.
        time_zone: Text => "IANA name",
        /// Preferred language of messages.
        language: Text => "BCP 47 tag",
        /// Age band of a person; null for organisations.
        age_band: Option<Text> => "18-24, 25-34, 35-44, 45-54, 55-64, 65+",
        /// Consent to be contacted by text message.
        consent_sms: bool => "",
        /// Consent to e-mail.
        consent_email: bool => "",
        /// Consent to push / in-app messages.
        consent_push: bool => "",
        /// Consent to messaging apps.
        consent_messaging: bool => "",
        /// Consent to automated voice calls.
        consent_ivr: bool => "",
        /// Consent to agent calls.
        consent_agent_call: bool => "",
        /// Consent to letters (almost always true: a postal address is on file).
        consent_letter: bool => "",
        /// Bills are collected by direct debit or card on file.
        autopay: bool => "",
        /// Currency of every amount of the account.
        currency: Text => "ISO 4217",
        /// Credit limit granted; null for prepaid.
        credit_limit_minor: Option<i64> => "minor units of `currency`",
        /// Date the account was opened.
        opened_on: NaiveDate => "date",
        /// Date the account was closed (churn); null while open.
        closed_on: Option<NaiveDate> => "date",
    }
);

table!(
    /// One invoice: the bill of one service for one billing period.
    Invoice, InvoiceBuilder, "invoices", simulator_only = false, {
        /// Invoice id, unique.
        invoice_id: i64 => "id",
        /// The account billed (must exist in `accounts`).
        account_id: i64 => "id",
        /// The service billed; barring for this debt applies to it only.
        service_id: i64 => "id",
        /// Currency of the amount (the account's).
        currency: Text => "ISO 4217",
        /// Amount billed, ≥ 0.
        amount_minor: i64 => "minor units",
        /// Date of issue.
        issued_on: NaiveDate => "date",
        /// Due date, not before `issued_on`.
        due_on: NaiveDate => "date",
        /// First day of the period billed.
        period_start: NaiveDate => "date",
        /// Last day of the period billed.
        period_end: NaiveDate => "date",
    }
);

table!(
    /// One payment received. A bounced payment keeps its row and gets `reversed_on`.
    Payment, PaymentBuilder, "payments", simulator_only = false, {
        /// Payment id, unique.
        payment_id: i64 => "id",
        /// The paying account (must exist in `accounts`).
        account_id: i64 => "id",
        /// The invoice the payer meant to settle, if known (must exist in `invoices`).
        invoice_id: Option<i64> => "id",
        /// When the money was received.
        paid_at: DateTime<Utc> => "instant, UTC",
        /// Currency of the amount.
        currency: Text => "ISO 4217",
        /// Amount received, > 0.
        amount_minor: i64 => "minor units",
        /// How it was paid.
        method: Text => "direct_debit, card, bank_transfer, cash, agency",
        /// Date the payment bounced and was taken back; null if it stood.
        reversed_on: Option<NaiveDate> => "date",
    }
);

table!(
    /// One outbound dunning contact, with the policy's propensity and the observed outcome.
    Contact, ContactBuilder, "contacts", simulator_only = false, {
        /// Contact id, unique.
        contact_id: i64 => "id",
        /// The account contacted (must exist in `accounts`).
        account_id: i64 => "id",
        /// The oldest unpaid invoice the contact is about (must exist in `invoices`).
        invoice_id: Option<i64> => "id",
        /// When the contact was sent or the call attempted.
        sent_at_utc: DateTime<Utc> => "instant, UTC",
        /// The same instant on the customer's wall clock (the account's `time_zone`).
        sent_at_local: NaiveDateTime => "local time",
        /// Channel used.
        channel: Text => "sms, email, push, messaging, ivr, agent_call, letter",
        /// Local send window the action asked for.
        send_window: Text => "08-10, 10-12, 12-14, 14-17, 17-19, 19-21",
        /// Tone of the message.
        tone: Text => "friendly, empathetic, neutral, firm",
        /// Template key `{channel}.{tone}.{language}`.
        template: Text => "key",
        /// Days past due of the oldest unpaid invoice when sent; negative = days before the due date (a preventive nudge).
        days_past_due: i32 => "days",
        /// Amount due and unpaid when sent (overdue plus, for a preventive contact, the coming bill).
        balance_minor: i64 => "minor units",
        /// Name and version of the policy that chose the action.
        policy: Text => "name",
        /// Probability with which the policy chose this action (channel × window × tone) among those allowed, in (0, 1].
        propensity: f64 => "probability",
        /// Whether the action was drawn by exploration rather than the policy's default step.
        explored: bool => "",
        /// Whether the message or call reached the customer's device or line.
        delivered: bool => "",
        /// Whether the customer opened, read, clicked or answered.
        responded: bool => "",
        /// Whether a call reached the customer and the debt was discussed (starts the 7-day call cool-down).
        conversation: bool => "",
        /// Whether a promise to pay was made in response.
        promise_made: bool => "",
        /// Amount paid within 7 days of the contact.
        paid_7d_minor: i64 => "minor units",
        /// Amount paid within 30 days of the contact.
        paid_30d_minor: i64 => "minor units",
        /// Whether the customer complained about this contact.
        complaint: bool => "",
        /// Whether the customer opted out of this channel in response.
        opted_out: bool => "",
    }
);

table!(
    /// One dispute raised on an invoice; dunning on the disputed amount is held while it is open.
    Dispute, DisputeBuilder, "disputes", simulator_only = false, {
        /// Dispute id, unique.
        dispute_id: i64 => "id",
        /// The account (must exist in `accounts`).
        account_id: i64 => "id",
        /// The invoice disputed (must exist in `invoices`).
        invoice_id: i64 => "id",
        /// Currency of the amount.
        currency: Text => "ISO 4217",
        /// Amount disputed, ≥ 0.
        amount_minor: i64 => "minor units",
        /// Date the dispute was opened.
        opened_on: NaiveDate => "date",
        /// Why the customer disputes.
        reason: Text => "billing_error, service_quality, not_recognised, other",
        /// State at the end of the history.
        status: Text => "open, upheld, rejected",
        /// Date it was resolved, not before `opened_on`; null while open.
        resolved_on: Option<NaiveDate> => "date",
    }
);

table!(
    /// One promise to pay: an amount by a date.
    Promise, PromiseBuilder, "promises", simulator_only = false, {
        /// Promise id, unique.
        promise_id: i64 => "id",
        /// The account (must exist in `accounts`).
        account_id: i64 => "id",
        /// The invoice the promise is about, if any (must exist in `invoices`).
        invoice_id: Option<i64> => "id",
        /// Currency of the amounts.
        currency: Text => "ISO 4217",
        /// Amount promised, > 0.
        amount_minor: i64 => "minor units",
        /// Date the promise was made.
        made_on: NaiveDate => "date",
        /// Date by which the amount is promised, not before `made_on`.
        due_on: NaiveDate => "date",
        /// Channel of the contact that obtained it; null for self-service.
        channel: Option<Text> => "channel name",
        /// State at the end of the history: kept when paid in full by the due date plus grace.
        status: Text => "open, kept, broken",
        /// Amount paid from `made_on` to the due date plus grace.
        paid_minor: i64 => "minor units",
    }
);

table!(
    /// The simulator's ground truth of one account: its latent traits.
    Truth, TruthBuilder, "truth", simulator_only = true, {
        /// Account id (must exist in `accounts`).
        account_id: i64 => "id",
        /// The main reason this customer pays late.
        lateness_reason: Text => "none, forgot, cash_flow, hardship, dispute, wont_pay",
        /// How income arrives.
        pay_schedule: Text => "monthly, biweekly, irregular",
        /// Day of month of a monthly payday, or day 0–13 of the fortnight for a bi-weekly one.
        payday: i32 => "day",
        /// Regularity of income, 0 (chaotic) to 1 (like clockwork).
        income_regularity: f64 => "0–1",
        /// Probability of forgetting a bill with no reminder.
        forgetfulness: f64 => "probability",
        /// Share of a bill the customer can pay from one payday in normal times.
        capacity: f64 => "share",
        /// Base daily probability of reading/answering a contact on SMS.
        resp_sms: f64 => "probability",
        /// … on e-mail.
        resp_email: f64 => "probability",
        /// … on push / in-app.
        resp_push: f64 => "probability",
        /// … on messaging apps.
        resp_messaging: f64 => "probability",
        /// … on automated voice.
        resp_ivr: f64 => "probability",
        /// … on agent calls.
        resp_agent_call: f64 => "probability",
        /// … on letters.
        resp_letter: f64 => "probability",
        /// First local hour at which the customer is usually reachable.
        reachable_from: i32 => "hour",
        /// Local hour from which the customer is usually not reachable.
        reachable_to: i32 => "hour",
        /// Effect of a friendly tone on paying after a contact (multiplier).
        tone_friendly: f64 => "multiplier",
        /// Effect of an empathetic tone.
        tone_empathetic: f64 => "multiplier",
        /// Effect of a neutral tone.
        tone_neutral: f64 => "multiplier",
        /// Effect of a firm tone.
        tone_firm: f64 => "multiplier",
        /// Base probability of complaining about a contact.
        complaint_propensity: f64 => "probability",
        /// Base monthly probability of leaving.
        churn_propensity: f64 => "probability",
        /// Hardship spells lived through during the history.
        hardship_spells: i32 => "count",
        /// Days spent in hardship during the history.
        hardship_days: i32 => "days",
    }
);

table!(
    /// One contact of a day's plan (`forbear plan`): what to send to whom, when, and why. Not an
    /// input of the contract: an output, listed here so its columns are declared once too.
    PlannedContact, PlannedContactBuilder, "plan", simulator_only = false, {
        /// The account.
        account_id: i64 => "id",
        /// The day planned (the customer's local date).
        date: NaiveDate => "date",
        /// Channel.
        channel: Text => "sms, email, push, messaging, ivr, agent_call, letter",
        /// Local send window.
        send_window: Text => "08-10, 10-12, 12-14, 14-17, 17-19, 19-21",
        /// Tone.
        tone: Text => "friendly, empathetic, neutral, firm",
        /// Template key `{channel}.{tone}.{language}`.
        template: Text => "key",
        /// When to send, UTC.
        send_at_utc: DateTime<Utc> => "instant, UTC",
        /// When to send, the customer's wall clock.
        send_at_local: NaiveDateTime => "local time",
        /// Expected value over no contact, net of cost and complaint penalty.
        value_base_minor: f64 => "minor units of the strategy's base currency",
        /// Contact cost.
        cost_base_minor: f64 => "minor units of the strategy's base currency",
        /// Probability of a payment within 7 days after the contact.
        p_pay: f64 => "probability",
        /// Expected amount paid within 7 days, rounded.
        expected_paid_minor: i64 => "minor units of `currency`",
        /// Currency of the account.
        currency: Text => "ISO 4217",
        /// Probability of a complaint or opt-out.
        p_complaint: f64 => "probability",
        /// Versions of the models that valued it.
        model_version: Text => "name",
    }
);

table!(
    /// One decision of the inference service (`forbear serve`): a recommendation or an
    /// eligibility decision with its inputs, outputs, model versions and propensity — the
    /// service's decision log, rotated into `decisions-*.parquet` files. Not an input of the
    /// contract: an output, listed here so its columns are declared once too.
    Decision, DecisionBuilder, "decisions", simulator_only = false, {
        /// Decision id (`GET /v1/decisions/{id}`).
        decision_id: Text => "id",
        /// `recommend` or `eligibility`.
        kind: Text => "recommend, eligibility",
        /// When it was made.
        decided_at: DateTime<Utc> => "instant, UTC",
        /// The request that asked for it (`x-request-id`).
        request_id: Text => "id",
        /// The account or applicant, as the caller named it.
        account_id: Text => "id",
        /// The decision day in the customer's time zone (UTC for eligibility).
        decision_date: NaiveDate => "date",
        /// What was decided: `channel/window/tone`, `none`, or `postpaid`/`prepaid`/`refer`.
        action: Text => "name",
        /// Channel of a contact.
        channel: Option<Text> => "sms, email, push, messaging, ivr, agent_call, letter",
        /// Send window of a contact, local time.
        send_window: Option<Text> => "08-10, 10-12, 12-14, 14-17, 17-19, 19-21",
        /// Tone of a contact.
        tone: Option<Text> => "friendly, empathetic, neutral, firm",
        /// When to send a contact.
        send_at_utc: Option<DateTime<Utc>> => "instant, UTC",
        /// Probability with which the action was chosen (1 without exploration).
        propensity: f64 => "probability",
        /// Expected value of the action over no contact (0 for eligibility).
        value_base_minor: f64 => "minor units of the strategy's base currency",
        /// Probability of going bad (eligibility).
        probability: Option<f64> => "probability",
        /// Credit limit granted (eligibility, postpaid).
        credit_limit_minor: Option<i64> => "minor units",
        /// Versions of the models and configuration that decided, as a JSON object.
        model_versions: Text => "JSON",
        /// The rules that applied, as a JSON array of strings.
        rules: Text => "JSON",
        /// The request as received, JSON.
        input: Text => "JSON",
        /// The response as sent, JSON.
        output: Text => "JSON",
    }
);

table!(
    /// One arm of a strategy-lab run on one day (`forbear simulate`'s `timeseries.parquet`):
    /// what was collected and spent, and where the arm's accounts stood at the day's end.
    /// Money in minor units of the strategy's base currency. An output, like `decisions`.
    LabDay, LabDayBuilder, "lab_days", simulator_only = true, {
        /// The arm.
        arm: Text => "name",
        /// The day simulated.
        day: NaiveDate => "date",
        /// Accounts in the arm.
        accounts: i64 => "count",
        /// Paid that day, net of reversals.
        collected_base_minor: i64 => "minor units of the base currency",
        /// Contacts made that day.
        contacts: i64 => "count",
        /// What they cost.
        contact_cost_base_minor: i64 => "minor units of the base currency",
        /// Complaints that day.
        complaints: i64 => "count",
        /// Opt-outs that day.
        opt_outs: i64 => "count",
        /// Contacts that broke a contact rule (must be 0).
        violations: i64 => "count",
        /// Accounts 1-30 days past due at the day's end.
        dpd_1_30: i64 => "count",
        /// Accounts 31-60 days past due.
        dpd_31_60: i64 => "count",
        /// Accounts 61-90 days past due.
        dpd_61_90: i64 => "count",
        /// Accounts more than 90 days past due.
        dpd_91_plus: i64 => "count",
        /// Overdue balance at the day's end.
        overdue_base_minor: i64 => "minor units of the base currency",
        /// Balance due (overdue and not yet due) at the day's end.
        receivables_base_minor: i64 => "minor units of the base currency",
        /// Accounts with service barred.
        barred: i64 => "count",
        /// Accounts that have left.
        churned: i64 => "count",
    }
);

/// The specifications of every table, in the order they are documented.
pub fn all_specs() -> Vec<TableSpec> {
    vec![
        Account::spec(),
        Invoice::spec(),
        Payment::spec(),
        Contact::spec(),
        Dispute::spec(),
        Promise::spec(),
        Truth::spec(),
    ]
}

/// The table names a dataset must have (the truth table is optional: only simulated data has it).
pub const REQUIRED_TABLES: [&str; 6] = [
    "accounts", "invoices", "payments", "contacts", "disputes", "promises",
];
