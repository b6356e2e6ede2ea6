//! A JSON array deserialized with a bound on what it keeps: [`Bounded`] holds at most `MAX`
//! items and only counts the rest while parsing (each skipped as JSON, nothing allocated), so
//! a body of a million tiny items costs its bytes, not a million parsed values, and the route
//! answers its usual "too many" error from the count.

use std::{fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, SeqAccess, Visitor},
};

/// The first `MAX` items of a JSON array, and how many it had.
#[derive(Debug)]
pub struct Bounded<T, const MAX: usize> {
    /// The items kept: all of them when `len <= MAX`.
    pub items: Vec<T>,
    /// How many items the array had.
    pub len: usize,
}

impl<T, const MAX: usize> Bounded<T, MAX> {
    /// Whether the array had more than `MAX` items (only `MAX` were kept).
    pub fn overflowed(&self) -> bool {
        self.len > MAX
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for Bounded<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(BoundedVisitor::<T, MAX>(PhantomData))
    }
}

struct BoundedVisitor<T, const MAX: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for BoundedVisitor<T, MAX> {
    type Value = Bounded<T, MAX>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let hint = seq.size_hint().unwrap_or(0).min(MAX);
        let mut items = Vec::with_capacity(hint);
        while items.len() < MAX {
            match seq.next_element::<T>()? {
                Some(item) => items.push(item),
                None => {
                    let len = items.len();
                    return Ok(Bounded { items, len });
                }
            }
        }
        let mut len = items.len();
        while seq.next_element::<IgnoredAny>()?.is_some() {
            len += 1;
        }
        Ok(Bounded { items, len })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use crate::bounded::Bounded;

    #[test]
    fn an_array_within_the_bound_is_kept_whole() {
        let b: Bounded<u8, 3> = serde_json::from_str("[1,2,3]").expect("parses");
        assert_eq!((b.items, b.len), (vec![1, 2, 3], 3));
        let empty: Bounded<u8, 3> = serde_json::from_str("[]").expect("parses");
        assert!(empty.items.is_empty() && !empty.overflowed());
    }

    #[test]
    fn beyond_the_bound_items_are_counted_not_kept() {
        let body = format!("[{}0]", "0,".repeat(99_999));
        let b: Bounded<Box<RawValue>, 1000> = serde_json::from_str(&body).expect("parses");
        assert_eq!((b.items.len(), b.len), (1000, 100_000));
        assert!(b.overflowed());
        assert!(
            b.items.capacity() <= 1024,
            "nothing was kept past the bound"
        );
    }

    #[test]
    fn skipped_items_must_still_be_json() {
        let broken = serde_json::from_str::<Bounded<u8, 1>>("[1,2,{]");
        assert!(broken.is_err());
        let wrong_type = serde_json::from_str::<Bounded<u8, 1>>("{}");
        assert!(wrong_type.is_err());
    }
}
