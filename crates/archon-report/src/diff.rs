//! Line diff of a motion's final text against its original, so amendments show.

use crate::model::TextLine;

/// `final_text` line by line, with lines of `original` it dropped as `removed`
/// and lines it added as `added` (longest common subsequence of lines).
pub fn mark_amendments(original: &str, final_text: &str) -> Vec<TextLine> {
    let a: Vec<&str> = original.lines().collect();
    let b: Vec<&str> = final_text.lines().collect();
    // lcs[i][j]: length of the common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let line = |change, text: &str| TextLine {
        change,
        text: text.to_string(),
    };
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(line("same", b[j]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(line("added", b[j]));
            j += 1;
        } else {
            out.push(line("removed", a[i]));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_replaced_line_is_removed_then_added() {
        let marked = mark_amendments("a\nb\nc", "a\nB\nc");
        let changes: Vec<(&str, &str)> =
            marked.iter().map(|l| (l.change, l.text.as_str())).collect();
        assert_eq!(
            changes,
            [
                ("same", "a"),
                ("added", "B"),
                ("removed", "b"),
                ("same", "c")
            ]
        );
    }

    proptest! {
        /// Dropping the removed lines gives the final text; dropping the added ones the original.
        #[test]
        fn both_texts_can_be_read_back(
            a in proptest::collection::vec("[abc]{0,2}", 0..8),
            b in proptest::collection::vec("[abc]{0,2}", 0..8),
        ) {
            let (a, b) = (a.join("\n"), b.join("\n"));
            let marked = mark_amendments(&a, &b);
            let keep = |skip: &str| marked.iter().filter(|l| l.change != skip).map(|l| l.text.as_str()).collect::<Vec<_>>();
            prop_assert_eq!(keep("removed"), b.lines().collect::<Vec<_>>());
            prop_assert_eq!(keep("added"), a.lines().collect::<Vec<_>>());
        }
    }
}
