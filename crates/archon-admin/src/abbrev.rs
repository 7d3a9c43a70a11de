//! Abbreviations used in identifiers: Duke abbreviations in tactic ids
//! (`T-GUSI-001`) and portfolio abbreviations in requirement ids (`FR-SECU-001`).
//!
//! Rule: the first four ASCII letters or digits of the name, upper-case
//! (`Gusion` → `GUSI`, `Aim` → `AIM`). Names are taken in roster order; when an
//! abbreviation is already taken, the fourth character is replaced by `2`, `3`, …
//! (then the third and fourth by `10`, `11`, …) until it is free. The 23 bundled
//! Dukes have distinct abbreviations, so the rule only matters for custom rosters.

use std::collections::BTreeSet;

/// The plain abbreviation of one name, before collision handling.
pub fn base_abbreviation(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(4)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Abbreviations for `names` in order, distinct by the documented rule.
pub fn assign(names: &[&str]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    names
        .iter()
        .map(|name| {
            let base = base_abbreviation(name);
            let base = if base.is_empty() {
                "X".to_string()
            } else {
                base
            };
            let mut candidate = base.clone();
            let mut n = 2u32;
            while taken.contains(&candidate) {
                let suffix = n.to_string();
                let keep = base
                    .chars()
                    .count()
                    .min(4)
                    .saturating_sub(suffix.len())
                    .max(1);
                candidate = base.chars().take(keep).collect::<String>() + &suffix;
                n += 1;
            }
            taken.insert(candidate.clone());
            candidate
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names() {
        assert_eq!(base_abbreviation("Gusion"), "GUSI");
        assert_eq!(base_abbreviation("Aim"), "AIM");
        assert_eq!(base_abbreviation("Glasya-Labolas"), "GLAS");
    }

    #[test]
    fn collisions_are_resolved_in_order() {
        assert_eq!(
            assign(&["Valefor", "Valerie", "Valentin", "Val"]),
            vec!["VALE", "VAL2", "VAL3", "VAL"]
        );
        let many: Vec<String> = (0..12).map(|_| "Barbatos".to_string()).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let out = assign(&refs);
        let distinct: BTreeSet<_> = out.iter().collect();
        assert_eq!(distinct.len(), 12);
        assert_eq!(out[10], "BA11");
    }
}
