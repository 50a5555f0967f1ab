//! `text_enum!`: an enum stored in the database as text (with a CHECK constraint listing the
//! same values), shown to people by its label, and parsed from forms with a message.

/// Defines the enum with `ALL`, `as_str`, `label`, `parse` (failing with `error`),
/// `label_of` (for stored text) and `options` (value–label pairs for a select).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (error = $error:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = ($text:literal, $label:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$( $name::$variant ),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }

            /// What people read.
            pub fn label(self) -> &'static str {
                match self { $( $name::$variant => $label ),+ }
            }

            /// The value of a form field, or the message saying what to choose.
            pub fn parse(value: &str) -> Result<$name, String> {
                Self::ALL.iter().copied().find(|v| v.as_str() == value.trim()).ok_or_else(|| $error.to_string())
            }

            /// The label of stored text (shown as stored if unknown).
            pub fn label_of(value: &str) -> &str {
                Self::parse(value).map(Self::label).unwrap_or(value)
            }

            /// (value, label) pairs for a select.
            pub fn options() -> Vec<(String, String)> {
                Self::ALL.iter().map(|v| (v.as_str().to_string(), v.label().to_string())).collect()
            }
        }
    };
}
