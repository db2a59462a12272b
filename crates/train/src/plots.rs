//! The model card's pictures, as self-contained SVG files (no plotting dependency, open anywhere):
//! ROC curves of every model, the best model's calibration by decile, and its score distribution.

use crate::evaluate::{Decile, Distribution};
use std::fmt::Write as _;

const W: f64 = 480.0;
const H: f64 = 360.0;
const M: f64 = 48.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

fn frame(title: &str, x_label: &str, y_label: &str, x_max: f64, y_max: f64) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{}" y="20" text-anchor="middle" font-size="14">{title}</text>
<line x1="{M}" y1="{}" x2="{}" y2="{}" stroke="black"/>
<line x1="{M}" y1="{}" x2="{M}" y2="{M}" stroke="black"/>
<text x="{}" y="{}" text-anchor="middle">{x_label}</text>
<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{y_label}</text>
"##,
        W / 2.0,
        H - M,
        W - M,
        H - M,
        H - M,
        W / 2.0,
        H - 10.0,
        H / 2.0,
        H / 2.0
    );
    for k in 0..=5 {
        let v = f64::from(k) / 5.0;
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{:.2}</text><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10">{:.2}</text>"##,
            px(v),
            H - M + 14.0,
            v * x_max,
            M - 4.0,
            py(v) + 3.0,
            v * y_max
        );
    }
    s
}

fn px(v: f64) -> f64 {
    M + v.clamp(0.0, 1.0) * (W - 2.0 * M)
}

fn py(v: f64) -> f64 {
    H - M - v.clamp(0.0, 1.0) * (H - 2.0 * M)
}

fn polyline(points: &[(f64, f64)], colour: &str) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
        .collect();
    format!(
        "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n",
        pts.join(" ")
    )
}

fn diagonal() -> String {
    format!(
        "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n",
        px(0.0),
        py(0.0),
        px(1.0),
        py(1.0)
    )
}

fn legend(s: &mut String, k: usize, label: &str) {
    let y = H - M - 40.0 + 16.0 * k as f64;
    let _ = writeln!(
        s,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
        W - M - 150.0,
        y,
        COLOURS[k % COLOURS.len()],
        W - M - 132.0,
        y + 5.0
    );
}

/// One model's ROC curve: its name, points (FPR, TPR) and AUC.
pub type Curve<'a> = (&'a str, Vec<(f64, f64)>, f64);

/// ROC curves of several models.
pub fn roc_svg(curves: &[Curve<'_>]) -> String {
    let mut s = frame(
        "ROC on the holdout",
        "false positive rate",
        "true positive rate",
        1.0,
        1.0,
    );
    s.push_str(&diagonal());
    for (k, (name, pts, auc)) in curves.iter().enumerate() {
        s.push_str(&polyline(pts, COLOURS[k % COLOURS.len()]));
        legend(&mut s, k, &format!("{name} (AUC {auc:.3})"));
    }
    s.push_str("</svg>\n");
    s
}

/// Calibration: mean predicted against observed rate per decile.
pub fn calibration_svg(name: &str, deciles: &[Decile]) -> String {
    let top = deciles
        .iter()
        .map(|d| d.mean_predicted.max(d.observed_rate))
        .fold(0.0f64, f64::max)
        .max(0.05);
    let scale = (top * 1.1).min(1.0);
    let mut s = frame(
        &format!("Calibration of {name} by decile"),
        "mean predicted probability",
        "observed rate",
        scale,
        scale,
    );
    s.push_str(&diagonal());
    let pts: Vec<(f64, f64)> = deciles
        .iter()
        .rev()
        .map(|d| (d.mean_predicted / scale, d.observed_rate / scale))
        .collect();
    s.push_str(&polyline(&pts, COLOURS[0]));
    for (x, y) in pts {
        let _ = writeln!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
            px(x),
            py(y),
            COLOURS[0]
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Score distribution: share of holdout rows per tenth of probability.
pub fn distribution_svg(name: &str, d: &Distribution) -> String {
    let total = d.counts.iter().sum::<usize>().max(1) as f64;
    let top = d
        .counts
        .iter()
        .map(|c| *c as f64 / total)
        .fold(0.0f64, f64::max)
        .max(0.01);
    let mut s = frame(
        &format!("Predicted probabilities of {name} on the holdout"),
        "probability",
        "share of rows",
        1.0,
        top,
    );
    for (k, c) in d.counts.iter().enumerate() {
        let share = *c as f64 / total / top;
        let (x0, x1) = (px(k as f64 / 10.0) + 1.0, px((k + 1) as f64 / 10.0) - 1.0);
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
            py(share),
            x1 - x0,
            py(0.0) - py(share),
            COLOURS[0]
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svgs_are_well_formed_and_carry_their_data() {
        let roc = roc_svg(&[("gbm", vec![(0.0, 0.0), (0.2, 0.7), (1.0, 1.0)], 0.81)]);
        assert!(roc.starts_with("<svg") && roc.trim_end().ends_with("</svg>"));
        assert!(roc.contains("gbm (AUC 0.810)"));
        let d = Distribution {
            lower: (0..10).map(|k| f64::from(k) / 10.0).collect(),
            counts: vec![5, 3, 2, 0, 0, 0, 0, 0, 0, 0],
        };
        assert_eq!(
            distribution_svg("gbm", &d).matches("<rect x=").count(),
            10,
            "one bar per tenth of probability"
        );
    }
}
