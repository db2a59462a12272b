//! `report.html`: a lab run as one self-contained page — no script, no font, no network; the
//! charts are inline SVG drawn from the daily series, the tables are the KPIs with their 95%
//! intervals and each arm against the champion.

use crate::simulate::{Comparison, KPIS, LabReport};
use forbear_data::LabDay;
use std::fmt::Write as _;

const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// A line chart of one value per arm and day.
fn chart(title: &str, unit: &str, arms: &[(String, Vec<f64>)]) -> String {
    let (w, h, left, bottom, top) = (640.0, 260.0, 64.0, 28.0, 12.0);
    let days = arms.iter().map(|a| a.1.len()).max().unwrap_or(0).max(2);
    let values = arms
        .iter()
        .flat_map(|a| a.1.iter().copied())
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo.min(0.0), hi)
    } else {
        (0.0, 1.0)
    };
    let x = |d: usize| left + (w - left - 8.0) * d as f64 / (days - 1) as f64;
    let y = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * f64::from(k) / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            w - 8.0,
            left - 4.0,
            y(v) + 4.0,
            num(v),
            y = y(v)
        );
    }
    for d in (0..days).step_by((days / 6).max(1)) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">day {}</text>",
            x(d),
            h - 8.0,
            d + 1
        );
    }
    for (i, (name, v)) in arms.iter().enumerate() {
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(d, v)| format!("{:.1},{:.1}", x(d), y(*v)))
            .collect();
        let c = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>",
            pts.join(" "),
            esc(name)
        );
    }
    let _ = write!(s, "</svg><p class=\"unit\">{}</p></figure>", esc(unit));
    s
}

/// Per arm, a value per day from the series.
fn per_arm(
    report: &LabReport,
    series: &[LabDay],
    f: &dyn Fn(&LabDay, &mut f64) -> f64,
) -> Vec<(String, Vec<f64>)> {
    report
        .arms
        .iter()
        .map(|a| {
            let mut acc = 0.0;
            let v = series
                .iter()
                .filter(|d| d.arm == a.name)
                .map(|d| f(d, &mut acc))
                .collect();
            (a.name.clone(), v)
        })
        .collect()
}

fn comparison_row(c: &Comparison) -> String {
    let good = KPIS
        .iter()
        .find(|k| k.name == c.kpi)
        .and_then(|k| k.higher_is_better);
    let sure = c.relative.ci_low > 0.0 || c.relative.ci_high < 0.0;
    let class = match (good, sure, c.relative.value > 0.0) {
        (Some(h), true, up) if h == up => "better",
        (Some(_), true, _) => "worse",
        _ => "",
    };
    format!(
        "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{} ({} to {})</td><td>{:+.1}% ({:+.1}% to {:+.1}%)</td></tr>",
        esc(&c.arm),
        esc(&c.kpi),
        num(c.difference.value),
        num(c.difference.ci_low),
        num(c.difference.ci_high),
        100.0 * c.relative.value,
        100.0 * c.relative.ci_low,
        100.0 * c.relative.ci_high
    )
}

/// The page.
pub fn render(report: &LabReport, series: &[LabDay]) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>forbear strategy lab — {} accounts × {} days</title><style>body{{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:right}}td:first-child,th:first-child,td:nth-child(2){{text-align:left}}tr.better td{{background:#e8f5e9}}tr.worse td{{background:#fdecea}}figure{{display:inline-block;margin:.5em 1em .5em 0}}figcaption{{font-weight:600}}.unit{{color:#666;margin:0;font-size:12px}}.legend span{{margin-right:1.2em}}small{{color:#666}}</style></head><body>",
        report.accounts, report.days
    );
    let _ = write!(
        s,
        "<h1>Strategy lab</h1><p>{} simulated accounts over {} days from {} (seed {}), split at random into {} arms; intervals are bootstrap 95% ({} resamples by account). Money in {}.</p>",
        report.accounts,
        report.days,
        report.start,
        report.seed,
        report.arms.len(),
        report.bootstrap,
        esc(&report.base_currency)
    );
    s.push_str("<p class=\"legend\">");
    for (i, a) in report.arms.iter().enumerate() {
        let _ = write!(
            s,
            "<span style=\"color:{}\">━ {} ({} accounts)</span>",
            COLOURS[i % COLOURS.len()],
            esc(&a.name),
            a.accounts
        );
    }
    s.push_str("</p>");
    if !report.comparisons.is_empty() {
        s.push_str("<h2>Against the champion</h2><table><tr><th>arm</th><th>KPI</th><th>difference (95% CI)</th><th>relative (95% CI)</th></tr>");
        for c in &report.comparisons {
            s.push_str(&comparison_row(c));
        }
        s.push_str("</table><p><small>Green: better with an interval that excludes no change; red: worse.</small></p>");
    }
    let accounts = |d: &LabDay| (d.accounts as f64).max(1.0);
    s.push_str("<h2>Over time</h2>");
    s.push_str(&chart(
        "Collected net of contact cost, cumulative",
        &format!("{} per account", report.base_currency),
        &per_arm(report, series, &|d, acc| {
            *acc += (d.collected_base_minor - d.contact_cost_base_minor) as f64 / 100.0;
            *acc / accounts(d)
        }),
    ));
    s.push_str(&chart(
        "Contact cost, cumulative",
        &format!("{} per account", report.base_currency),
        &per_arm(report, series, &|d, acc| {
            *acc += d.contact_cost_base_minor as f64 / 100.0;
            *acc / accounts(d)
        }),
    ));
    s.push_str(&chart(
        "Accounts past due",
        "share of the arm's accounts at the day's end",
        &per_arm(report, series, &|d, _| {
            (d.dpd_1_30 + d.dpd_31_60 + d.dpd_61_90 + d.dpd_91_plus) as f64 / accounts(d)
        }),
    ));
    s.push_str(&chart(
        "Accounts more than 30 days past due",
        "share of the arm's accounts at the day's end",
        &per_arm(report, series, &|d, _| {
            (d.dpd_31_60 + d.dpd_61_90 + d.dpd_91_plus) as f64 / accounts(d)
        }),
    ));
    s.push_str(&chart(
        "Complaints, cumulative",
        "per 1,000 accounts",
        &per_arm(report, series, &|d, acc| {
            *acc += d.complaints as f64;
            1000.0 * *acc / accounts(d)
        }),
    ));
    s.push_str(&chart(
        "Overdue balance",
        &format!("{} per account at the day's end", report.base_currency),
        &per_arm(report, series, &|d, _| {
            d.overdue_base_minor as f64 / 100.0 / accounts(d)
        }),
    ));
    s.push_str("<h2>KPIs per arm</h2><table><tr><th>KPI</th><th>unit</th>");
    for a in &report.arms {
        let _ = write!(s, "<th>{}</th>", esc(&a.name));
    }
    s.push_str("</tr>");
    for k in KPIS {
        let _ = write!(
            s,
            "<tr><td>{}</td><td><small>{}</small></td>",
            k.name,
            esc(k.unit)
        );
        for a in &report.arms {
            match a.kpis.get(k.name) {
                Some(e) => {
                    let _ = write!(
                        s,
                        "<td>{}<br><small>{} – {}</small></td>",
                        num(e.value),
                        num(e.ci_low),
                        num(e.ci_high)
                    );
                }
                None => s.push_str("<td>–</td>"),
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</table><h2>Arms</h2><table><tr><th>arm</th><th>accounts</th><th>scenarios</th><th>billed</th><th>collected</th><th>contact cost</th><th>contacts</th><th>complaints</th><th>violations</th><th>seconds</th></tr>");
    for a in &report.arms {
        let t = &a.totals;
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            esc(&a.name),
            a.accounts,
            esc(&a.scenarios),
            t.billed,
            t.collected,
            t.contact_cost,
            t.contacts,
            t.complaints,
            t.violations,
            a.seconds
        );
    }
    s.push_str("</table><p><small>Written by <code>forbear simulate</code>. The customers' reactions come from the simulator's ground truth; each arm's engine saw only what a real engine would.</small></p></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{ArmReport, Estimate, LabReport, Totals};
    use std::collections::BTreeMap;

    fn report(names: &[&str]) -> LabReport {
        let e = Estimate {
            value: 1.0,
            ci_low: 0.5,
            ci_high: 1.5,
        };
        LabReport {
            accounts: 10,
            days: 3,
            seed: 1,
            start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            bootstrap: 10,
            base_currency: "EUR".into(),
            arms: names
                .iter()
                .map(|n| ArmReport {
                    name: n.to_string(),
                    accounts: 5,
                    scenarios: "v1".into(),
                    kpis: KPIS.iter().map(|k| (k.name.to_string(), e)).collect(),
                    totals: Totals::default(),
                    seconds: 0.1,
                })
                .collect(),
            comparisons: Vec::new(),
            units: BTreeMap::new(),
        }
    }

    fn day(arm: &str, d: u32) -> LabDay {
        LabDay {
            arm: arm.to_string().into(),
            day: chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap(),
            accounts: 5,
            collected_base_minor: 1000 * i64::from(d),
            contacts: 1,
            contact_cost_base_minor: 5,
            complaints: 0,
            opt_outs: 0,
            violations: 0,
            dpd_1_30: 1,
            dpd_31_60: 0,
            dpd_61_90: 0,
            dpd_91_plus: 0,
            overdue_base_minor: 100,
            receivables_base_minor: 200,
            barred: 0,
            churned: 0,
        }
    }

    /// One page, no script, no link out; a chart per series with a line per arm; arm names
    /// escaped; every KPI in the table.
    #[test]
    fn the_page_is_self_contained_and_escapes_names() {
        let r = report(&["champion", "<b>x</b>"]);
        let series: Vec<LabDay> = (1..=3)
            .flat_map(|d| [day("champion", d), day("<b>x</b>", d)])
            .collect();
        let html = render(&r, &series);
        assert!(
            !html.contains("<script") && !html.contains("http"),
            "{html}"
        );
        assert_eq!(html.matches("<svg").count(), 6);
        assert_eq!(html.matches("<polyline").count(), 12);
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;") && !html.contains("<b>x</b>"));
        for k in KPIS {
            assert!(html.contains(&format!("<td>{}</td>", k.name)), "{}", k.name);
        }
    }
}
