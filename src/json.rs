//! JSON has no NaN or infinity, yet a diverged run's numbers must still be written and read
//! back: these serde helpers write non-finite floats as `null` and read `null` as NaN.

/// One float: `null` when not finite, NaN when read back from `null`.
pub mod float_or_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// [`float_or_null`] for a list.
pub mod floats_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let opts: Vec<Option<f64>> = v.iter().map(|x| x.is_finite().then_some(*x)).collect();
        opts.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let opts = Vec::<Option<f64>>::deserialize(d)?;
        Ok(opts.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

/// Indented JSON for the files people read, with every list of plain values on one line, so a
/// confusion matrix reads as a table and a history as rows.
pub fn to_pretty_string<S: serde::Serialize>(value: &S) -> serde_json::Result<String> {
    Ok(inline_scalar_lists(&serde_json::to_string_pretty(value)?))
}

/// Joins each list of plain values (numbers, strings, booleans, null) in serde_json's pretty
/// output onto one line; lists holding objects or lists are left as they are.
fn inline_scalar_lists(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    // The line opening the list being gathered, and its item lines so far.
    let mut open: Option<(&str, Vec<&str>)> = None;
    for line in pretty.lines() {
        let item = line.trim();
        if let Some((head, items)) = open.take() {
            if item == "]" || item == "]," {
                let items: Vec<&str> = items
                    .iter()
                    .map(|i| i.trim().trim_end_matches(','))
                    .collect();
                out += &format!("{head}{}{item}\n", items.join(", "));
                continue;
            }
            if item.ends_with('[') || item.ends_with('{') {
                // Not a list of plain values after all: write it out as it was.
                for l in std::iter::once(head).chain(items) {
                    out += l;
                    out.push('\n');
                }
            } else {
                let mut items = items;
                items.push(line);
                open = Some((head, items));
                continue;
            }
        }
        if line.ends_with('[') {
            open = Some((line, Vec::new()));
        } else {
            out += line;
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lists_are_written_on_one_line() {
        let value = serde_json::json!({
            "m": [[1, 2], [3, 4]],
            "names": ["a", "b,c"],
            "empty": [],
            "objects": [{"x": [1.5, null]}],
        });
        let text = to_pretty_string(&value).unwrap();
        assert!(text.contains("    [1, 2],\n    [3, 4]\n"), "{text}");
        assert!(text.contains("\"names\": [\"a\", \"b,c\"]"), "{text}");
        assert!(text.contains("\"x\": [1.5, null]"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
