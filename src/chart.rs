//! Server-rendered SVG line charts: observed values over time against the anticipated path
//! (a straight line from the start value to the target, or a band to stay within). Used for
//! key results (check-ins over the period) and outcomes (measurements up to measure-by).
//! Every chart comes with a text alternative on its page; the SVG itself is labelled.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 32.0;

/// Where a value is meant to go between two days.
#[derive(Debug, Clone, Copy)]
pub enum Anticipated {
    /// A straight path from `start` on the first day to `target` on the last.
    Path { start: Decimal, target: Decimal },
    /// A band to stay within all along.
    Band { lower: Decimal, upper: Decimal },
}

/// A chart ready for the template: coordinates already scaled.
#[derive(Debug, Clone)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// The anticipated path as an SVG path (`d`), or empty for a band.
    pub path: String,
    /// The band as a rectangle (x, y, width, height), if any.
    pub band: Option<(f64, f64, f64, f64)>,
    /// The observed values as a polyline's points, and each point.
    pub line: String,
    pub dots: Vec<(f64, f64)>,
    /// Axis labels: (y, text) for values, (x, text) for days.
    pub y_labels: Vec<(f64, String)>,
    pub x_labels: Vec<(f64, String)>,
    /// The plot area's left, right, top and bottom edges.
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Chart {
    /// Values observed on days between `from` and `to` against what was anticipated; days
    /// outside are drawn at the edges.
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        anticipated: Anticipated,
        observed: &[(NaiveDate, Decimal)],
    ) -> Chart {
        let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
        let mut values: Vec<f64> = observed.iter().map(|(_, v)| f(*v)).collect();
        match anticipated {
            Anticipated::Path { start, target } => values.extend([f(start), f(target)]),
            Anticipated::Band { lower, upper } => values.extend([f(lower), f(upper)]),
        }
        let (mut low, mut high) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        if (high - low).abs() < f64::EPSILON {
            low -= 1.0;
            high += 1.0;
        }
        let margin = (high - low) * 0.08;
        let (low, high) = (low - margin, high + margin);
        let span_days = ((to - from).num_days()).max(1) as f64;
        let (right, bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
        let x = |day: NaiveDate| {
            let days = ((day - from).num_days() as f64).clamp(0.0, span_days);
            LEFT + days / span_days * (right - LEFT)
        };
        let y = |value: f64| bottom - (value - low) / (high - low) * (bottom - TOP);
        let (path, band) = match anticipated {
            Anticipated::Path { start, target } => (
                format!(
                    "M {:.1} {:.1} L {:.1} {:.1}",
                    x(from),
                    y(f(start)),
                    x(to),
                    y(f(target))
                ),
                None,
            ),
            Anticipated::Band { lower, upper } => {
                let (top, base) = (y(f(upper)), y(f(lower)));
                (String::new(), Some((LEFT, top, right - LEFT, base - top)))
            }
        };
        let mut sorted: Vec<(NaiveDate, Decimal)> = observed.to_vec();
        sorted.sort_by_key(|(day, _)| *day);
        let dots: Vec<(f64, f64)> = sorted.iter().map(|(d, v)| (x(*d), y(f(*v)))).collect();
        let line = dots
            .iter()
            .map(|(a, b)| format!("{a:.1},{b:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let y_labels = [low + margin, (low + high) / 2.0, high - margin]
            .iter()
            .map(|v| (y(*v), short(*v)))
            .collect();
        let x_labels = vec![
            (x(from), from.format("%-d %b").to_string()),
            (x(to), to.format("%-d %b %Y").to_string()),
        ];
        Chart {
            width: WIDTH,
            height: HEIGHT,
            path,
            band,
            line,
            dots,
            y_labels,
            x_labels,
            left: LEFT,
            right,
            top: TOP,
            bottom,
        }
    }
}

/// A bullet chart of one outcome: a track from the lowest to the highest of its values,
/// the baseline and the target (or the band) marked, and a bar from the baseline to the
/// actual value. Coordinates are in a `BULLET_WIDTH` × 24 box.
#[derive(Debug, Clone)]
pub struct Bullet {
    pub baseline_x: f64,
    /// The target's x, or the band's left and right.
    pub target_x: Option<f64>,
    pub band: Option<(f64, f64)>,
    /// The bar from the baseline to the actual value (left, width), if one was measured.
    pub actual: Option<(f64, f64)>,
    pub actual_x: Option<f64>,
}

pub const BULLET_WIDTH: f64 = 240.0;
const BULLET_PAD: f64 = 8.0;

impl Bullet {
    pub fn new(baseline: Decimal, anticipated: Anticipated, actual: Option<Decimal>) -> Bullet {
        let f = |d: Decimal| d.to_f64().unwrap_or(0.0);
        let mut values = vec![f(baseline)];
        match anticipated {
            Anticipated::Path { target, .. } => values.push(f(target)),
            Anticipated::Band { lower, upper } => values.extend([f(lower), f(upper)]),
        }
        values.extend(actual.map(f));
        let (mut low, mut high) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
        if (high - low).abs() < f64::EPSILON {
            low -= 1.0;
            high += 1.0;
        }
        let x = |v: f64| BULLET_PAD + (v - low) / (high - low) * (BULLET_WIDTH - 2.0 * BULLET_PAD);
        let baseline_x = x(f(baseline));
        let (target_x, band) = match anticipated {
            Anticipated::Path { target, .. } => (Some(x(f(target))), None),
            Anticipated::Band { lower, upper } => (None, Some((x(f(lower)), x(f(upper))))),
        };
        let actual_x = actual.map(|a| x(f(a)));
        Bullet {
            baseline_x,
            target_x,
            band: band.map(|(l, r)| (l, r - l)),
            actual: actual_x.map(|a| (a.min(baseline_x), (a - baseline_x).abs().max(1.0))),
            actual_x,
        }
    }
}

/// A bar chart of shares (0–1) with a label under each bar; a missing share draws no bar.
#[derive(Debug, Clone)]
pub struct Bars {
    pub width: f64,
    pub height: f64,
    pub bottom: f64,
    /// (x, y, width, height, label, value text) per bar.
    pub bars: Vec<(f64, f64, f64, f64, String, String)>,
}

impl Bars {
    pub fn new(items: &[(String, Option<f64>)]) -> Bars {
        let (width, height, bottom, top) = (WIDTH, 180.0, 150.0, 16.0);
        let slot = (width - LEFT - RIGHT) / items.len().max(1) as f64;
        let bars = items
            .iter()
            .enumerate()
            .map(|(i, (label, share))| {
                let h = share.unwrap_or(0.0).clamp(0.0, 1.0) * (bottom - top);
                let text = share.map_or("—".to_string(), |s| format!("{:.0}%", s * 100.0));
                let x = LEFT + i as f64 * slot + slot * 0.2;
                (x, bottom - h, slot * 0.6, h, label.clone(), text)
            })
            .collect();
        Bars {
            width,
            height,
            bottom,
            bars,
        }
    }
}

/// A value as an axis shows it: at most 2 decimals, no trailing zeros.
fn short(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 4, d).unwrap()
    }

    #[test]
    fn the_anticipated_path_runs_corner_to_corner_and_observations_fall_on_it_when_on_track() {
        let chart = Chart::new(
            day(1),
            day(21),
            Anticipated::Path {
                start: 40.into(),
                target: 80.into(),
            },
            &[(day(11), 60.into()), (day(1), 40.into())],
        );
        let ends: Vec<f64> = chart
            .path
            .split(' ')
            .filter_map(|t| t.parse().ok())
            .collect();
        let [x0, y0, x1, y1] = ends[..] else {
            panic!("a straight path: {}", chart.path)
        };
        assert_eq!((x0, x1), (chart.left, chart.right));
        assert!(y1 < y0, "an increase goes up the chart");
        // The start is at the path's start; half-way in time at half-way in value is on it.
        let (start_x, start_y) = chart.dots[0];
        assert!((start_x - x0).abs() < 0.1 && (start_y - y0).abs() < 0.1);
        let (mid_x, mid_y) = chart.dots[1];
        assert!((mid_x - (x0 + x1) / 2.0).abs() < 0.01);
        assert!((mid_y - (y0 + y1) / 2.0).abs() < 0.1);
        assert_eq!(chart.line.split(' ').count(), 2);
    }

    #[test]
    fn a_bullet_puts_baseline_target_and_actual_in_order_on_one_track() {
        let bullet = Bullet::new(
            40.into(),
            Anticipated::Path {
                start: 40.into(),
                target: 80.into(),
            },
            Some(70.into()),
        );
        let (target, actual) = (bullet.target_x.unwrap(), bullet.actual_x.unwrap());
        assert!(bullet.baseline_x < actual && actual < target);
        assert!((bullet.baseline_x - BULLET_PAD).abs() < 0.01);
        assert!((target - (BULLET_WIDTH - BULLET_PAD)).abs() < 0.01);
        let (left, width) = bullet.actual.unwrap();
        assert!((left - bullet.baseline_x).abs() < 0.01 && (left + width - actual).abs() < 0.01);
        // A decrease that overshot: the bar runs left from the baseline past the target.
        let down = Bullet::new(
            10.into(),
            Anticipated::Path {
                start: 10.into(),
                target: 5.into(),
            },
            Some(2.into()),
        );
        assert!(down.actual_x.unwrap() < down.target_x.unwrap());
        assert!(down.target_x.unwrap() < down.baseline_x);
    }

    #[test]
    fn bars_are_as_tall_as_their_share_and_none_is_drawn_for_no_data() {
        let bars = Bars::new(&[
            ("Q1".into(), Some(0.5)),
            ("Q2".into(), None),
            ("Q3".into(), Some(1.0)),
        ]);
        let heights: Vec<f64> = bars.bars.iter().map(|b| b.3).collect();
        assert!((heights[0] * 2.0 - heights[2]).abs() < 0.01);
        assert_eq!(heights[1], 0.0);
        assert_eq!(bars.bars[1].5, "—");
        assert_eq!(bars.bars[0].5, "50%");
    }

    #[test]
    fn a_band_is_a_rectangle_across_the_whole_period() {
        let chart = Chart::new(
            day(1),
            day(30),
            Anticipated::Band {
                lower: "99.5".parse().unwrap(),
                upper: 100.into(),
            },
            &[(day(5), "99.7".parse().unwrap())],
        );
        let (x, top, width, height) = chart.band.unwrap();
        assert_eq!(x, chart.left);
        assert!((x + width - chart.right).abs() < 0.01);
        let (_, dot) = chart.dots[0];
        assert!(top < dot && dot < top + height, "99.7 is inside the band");
        assert!(chart.path.is_empty());
    }
}
