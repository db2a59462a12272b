//! Segment attributes: what a scenario and an allowed-action set are chosen by.

use crate::{AccountId, named_enum};
use serde::{Deserialize, Serialize};

named_enum!(
    /// Who the customer is.
    CustomerType, "customer type", {
        /// A private person.
        Consumer => "consumer",
        /// A small business.
        SmallBusiness => "small_business",
        /// A large company (often a parent of many accounts).
        Enterprise => "enterprise",
        /// A customer the business treats with priority.
        Vip => "vip",
        /// A student.
        Student => "student",
        /// Armed-forces personnel (special legal protections in some markets).
        Military => "military",
        /// A government body.
        Government => "government",
    }
);

impl CustomerType {
    /// Whether the customer is a business or public body rather than a person.
    pub const fn is_organisation(self) -> bool {
        matches!(
            self,
            CustomerType::SmallBusiness | CustomerType::Enterprise | CustomerType::Government
        )
    }
}

named_enum!(
    /// How service is paid for.
    SubscriptionType, "subscription type", {
        /// Paid in advance: no credit risk, never invoiced.
        Prepaid => "prepaid",
        /// Billed after use: carries credit risk.
        Postpaid => "postpaid",
    }
);

named_enum!(
    /// The service tier.
    ServiceLevel, "service level", {
        /// Entry tier.
        Basic => "basic",
        /// Standard tier.
        Standard => "standard",
        /// Premium tier.
        Premium => "premium",
    }
);

named_enum!(
    /// The product line billed.
    Product, "product", {
        /// Mobile line.
        Mobile => "mobile",
        /// Fixed broadband.
        Broadband => "broadband",
        /// Television.
        Tv => "tv",
        /// A bundle of several services.
        Bundle => "bundle",
    }
);

named_enum!(
    /// Age band of a person (organisations have none).
    AgeBand, "age band", {
        /// 18 to 24.
        A18To24 => "18-24",
        /// 25 to 34.
        A25To34 => "25-34",
        /// 35 to 44.
        A35To44 => "35-44",
        /// 45 to 54.
        A45To54 => "45-54",
        /// 55 to 64.
        A55To64 => "55-64",
        /// 65 and over.
        A65Plus => "65+",
    }
);

/// The attributes a segment is defined by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    /// The corporate parent, for child accounts of a hierarchy.
    pub parent: Option<AccountId>,
    /// Who the customer is.
    pub customer_type: CustomerType,
    /// Prepaid or postpaid.
    pub subscription_type: SubscriptionType,
    /// Service tier.
    pub service_level: ServiceLevel,
    /// Product line.
    pub product: Product,
}
