//! OpenAPI schemas of the core crate's named values (channels, tones, …), built from their
//! `ALL` lists so the document lists exactly what the service accepts.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Object, RefOr, Schema};

fn names(all: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all))
        .description(Some(description))
        .build()
}

macro_rules! named_schema {
    ($fn:ident, $ty:path, $desc:literal) => {
        pub(crate) fn $fn() -> Object {
            names(<$ty>::ALL.iter().map(|v| v.as_str()), $desc)
        }
    };
}

named_schema!(channel, forbear_core::Channel, "A channel.");
named_schema!(tone, forbear_core::Tone, "A tone.");
named_schema!(
    window,
    forbear_core::SendWindow,
    "A send window, local time."
);
named_schema!(customer_type, forbear_core::CustomerType, "Customer type.");
named_schema!(service_level, forbear_core::ServiceLevel, "Service level.");
named_schema!(product, forbear_core::Product, "Product line.");
named_schema!(age_band, forbear_core::AgeBand, "Age band.");

pub(crate) fn channels() -> RefOr<Schema> {
    RefOr::T(Schema::Array(ArrayBuilder::new().items(channel()).build()))
}

pub(crate) fn currency() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[A-Z]{3}$"))
        .description(Some("ISO 4217 currency code."))
        .examples(["EUR"])
        .build()
}

pub(crate) fn time_zone() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("IANA time zone name."))
        .examples(["Europe/Madrid"])
        .build()
}
