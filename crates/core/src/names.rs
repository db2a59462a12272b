//! `named_enum!`: closed sets of domain names with one spelling each, used in files, APIs and
//! configuration alike, so that `"sms"` means the same thing everywhere.

/// Declares a `Copy` enum whose variants each have one snake_case name, with `ALL`, `as_str`,
/// `parse` (an error that lists what was expected), `index`, `Display`, `FromStr` and serde.
#[macro_export]
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const EXPECTED: &'static str = concat!($($text, " "),+);

            /// The one spelling of this value in files, APIs and configuration.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the spelling produced by [`Self::as_str`].
            pub fn parse(s: &str) -> Result<Self, $crate::CoreError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::CoreError::UnknownName {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: Self::EXPECTED,
                    }),
                }
            }

            /// Position in [`Self::ALL`].
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::CoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
