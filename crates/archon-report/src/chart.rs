//! Chart geometry, computed in Rust so the page needs no JavaScript: the
//! template only places the shapes (coordinates in SVG user units).

use serde::Serialize;

/// A horizontal bar split in parts proportional to their counts (viewBox 0 0 100 10).
#[derive(Debug, Serialize)]
pub struct StackedBar {
    pub total: u64,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Serialize)]
pub struct Segment {
    pub label: String,
    /// CSS class (and colour) of the part.
    pub class: String,
    pub count: u64,
    pub x: f64,
    pub width: f64,
}

/// `parts` (label, count) side by side; empty parts take no room.
pub fn stacked_bar(parts: &[(&str, u64)]) -> StackedBar {
    let total: u64 = parts.iter().map(|(_, n)| n).sum();
    let mut x = 0.0;
    let mut segments = Vec::new();
    for (label, count) in parts {
        let width = if total == 0 {
            0.0
        } else {
            round(100.0 * *count as f64 / total as f64)
        };
        segments.push(Segment {
            label: label.to_string(),
            class: label.replace(' ', "-"),
            count: *count,
            x: round(x),
            width,
        });
        x += width;
    }
    StackedBar { total, segments }
}

/// Bars grouped by series (finalists), one bar per category (score dimension).
#[derive(Debug, Serialize)]
pub struct GroupedBars {
    pub width: f64,
    pub height: f64,
    /// Baseline of the bars (y of value 0).
    pub base: f64,
    pub ticks: Vec<Tick>,
    pub categories: Vec<String>,
    pub groups: Vec<BarGroup>,
}

#[derive(Debug, Serialize)]
pub struct Tick {
    pub value: f64,
    pub y: f64,
}

#[derive(Debug, Serialize)]
pub struct BarGroup {
    pub label: String,
    pub x: f64,
    pub width: f64,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub category: String,
    /// Index of the category: its colour.
    pub index: usize,
    pub value: f64,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

const PLOT_TOP: f64 = 10.0;
const PLOT_HEIGHT: f64 = 150.0;
const LEFT: f64 = 30.0;
const BAR_WIDTH: f64 = 9.0;
const GROUP_GAP: f64 = 18.0;

/// `series` (label, one value per category) on a 0..=`max` scale.
pub fn grouped_bars(categories: &[String], series: &[(String, Vec<f64>)], max: f64) -> GroupedBars {
    let group_width = BAR_WIDTH * categories.len() as f64;
    let base = PLOT_TOP + PLOT_HEIGHT;
    let scale = |v: f64| PLOT_HEIGHT * (v.clamp(0.0, max) / max);
    let groups = series
        .iter()
        .enumerate()
        .map(|(g, (label, values))| {
            let x = LEFT + GROUP_GAP / 2.0 + g as f64 * (group_width + GROUP_GAP);
            let bars = categories
                .iter()
                .zip(values)
                .enumerate()
                .map(|(i, (category, value))| Bar {
                    category: category.clone(),
                    index: i,
                    value: *value,
                    x: round(x + i as f64 * BAR_WIDTH),
                    y: round(base - scale(*value)),
                    width: BAR_WIDTH - 1.0,
                    height: round(scale(*value)),
                })
                .collect();
            BarGroup {
                label: label.clone(),
                x: round(x),
                width: group_width,
                bars,
            }
        })
        .collect();
    let ticks = (0..=5)
        .map(|k| {
            let value = max * k as f64 / 5.0;
            Tick {
                value,
                y: round(base - scale(value)),
            }
        })
        .collect();
    GroupedBars {
        width: LEFT + series.len() as f64 * (group_width + GROUP_GAP),
        height: base + 30.0,
        base,
        ticks,
        categories: categories.to_vec(),
        groups,
    }
}

/// Two decimals are enough on screen and keep the page byte-stable.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_parts_fill_the_bar_in_order() {
        let bar = stacked_bar(&[("endorse", 3), ("oppose", 0), ("abstain", 1)]);
        assert_eq!(bar.total, 4);
        let geometry: Vec<(f64, f64)> = bar.segments.iter().map(|s| (s.x, s.width)).collect();
        assert_eq!(geometry, [(0.0, 75.0), (75.0, 0.0), (75.0, 25.0)]);
    }

    #[test]
    fn an_empty_bar_has_no_width() {
        let bar = stacked_bar(&[("endorse", 0)]);
        assert_eq!(bar.segments[0].width, 0.0);
    }

    #[test]
    fn bar_heights_follow_values_on_the_scale() {
        let chart = grouped_bars(
            &["a".into(), "b".into()],
            &[("p".into(), vec![10.0, 5.0]), ("q".into(), vec![0.0, 12.0])],
            10.0,
        );
        let heights: Vec<f64> = chart
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().map(|b| b.height))
            .collect();
        assert_eq!(heights, [150.0, 75.0, 0.0, 150.0]);
        assert!(chart.groups[1].x > chart.groups[0].x + chart.groups[0].width);
    }
}
