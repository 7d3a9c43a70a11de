//! What a portfolio scope term covers in a motion's words. The roster names
//! each portfolio by five terms (`knowledge`, `incident_response`, …): these are
//! categories, and motions rarely use the category word itself ("a short course
//! on the Conclave's procedures" is knowledge and policy work). Each scope word
//! in `scope_vocabulary.txt` lists the everyday words of its field; E1 counts
//! them as it counts distinctive goal words (one point each, two distinct ones
//! claim a clause), so one related word alone never claims a clause. Written
//! from the terms' plain meaning, for every scope word of both rosters, not from
//! any motion.

/// One line per scope word (as in `portfolio_scope`, split at `_`): `word: related words…`.
const TABLE: &str = include_str!("scope_vocabulary.txt");

/// The related words of the scope word `word` (normalised on both sides).
pub fn related(word: &str) -> impl Iterator<Item = &'static str> {
    let key = crate::text::normalise(word);
    TABLE
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(move |(w, _)| crate::text::normalise(w.trim()) == key)
        .flat_map(|(_, words)| words.split_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_a_word_and_its_field() {
        for line in TABLE.lines() {
            let (word, related) = line.split_once(':').expect(line);
            assert!(
                !word.trim().is_empty() && related.split_whitespace().count() >= 3,
                "{line}"
            );
        }
        assert!(related("knowledge").any(|w| w == "curriculum"));
        assert!(related("standards").any(|w| w == "specification"));
        assert_eq!(related("unknown_scope").count(), 0);
    }
}
