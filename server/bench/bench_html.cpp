// ReportToHtml (declared in bench_report.h): one page, inline CSS and SVG, nothing fetched from anywhere,
// so the file can be mailed or attached to an issue and still open offline.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "server/bench/bench_report.h"

namespace fpgaserve {

namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr double kW = 560, kH = 320, kLeft = 64, kRight = 16, kTop = 28, kBottom = 44;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

// A line plot with linear axes from 0; x_labels, when given, replace the numbers under integer x ticks.
std::string Plot(const std::string& title, const std::string& x_title, const std::string& y_title,
                 const std::vector<Series>& series, const std::vector<std::string>& x_labels = {}) {
  double x_max = 0, y_max = 0;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
    }
  }
  if (x_max <= 0) x_max = 1;
  if (y_max <= 0) y_max = 1;
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  auto sx = [&](double x) { return kLeft + x / x_max * pw; };
  auto sy = [&](double y) { return kTop + ph - y / y_max * ph; };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fmt("%.0f", kW) + "\" height=\"" +
                    Fmt("%.0f", kH) + "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<text x=\"" + Fmt("%.0f", kW / 2) + "\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">" + Escape(title) +
         "</text>\n";
  svg += "<rect x=\"" + Fmt("%.1f", kLeft) + "\" y=\"" + Fmt("%.1f", kTop) + "\" width=\"" + Fmt("%.1f", pw) +
         "\" height=\"" + Fmt("%.1f", ph) + "\" fill=\"none\" stroke=\"#888\"/>\n";
  for (int i = 0; i <= 4; i++) {  // y grid and labels
    const double y = y_max * i / 4;
    svg += "<line x1=\"" + Fmt("%.1f", kLeft) + "\" x2=\"" + Fmt("%.1f", kLeft + pw) + "\" y1=\"" + Fmt("%.1f", sy(y)) +
           "\" y2=\"" + Fmt("%.1f", sy(y)) + "\" stroke=\"#eee\"/>";
    svg += "<text x=\"" + Fmt("%.1f", kLeft - 4) + "\" y=\"" + Fmt("%.1f", sy(y) + 4) + "\" text-anchor=\"end\">" +
           Fmt("%.4g", y) + "</text>\n";
  }
  if (x_labels.empty()) {
    for (int i = 0; i <= 4; i++) {
      const double x = x_max * i / 4;
      svg += "<text x=\"" + Fmt("%.1f", sx(x)) + "\" y=\"" + Fmt("%.1f", kTop + ph + 14) +
             "\" text-anchor=\"middle\">" + Fmt("%.4g", x) + "</text>\n";
    }
  } else {
    for (size_t i = 0; i < x_labels.size(); i++) {
      svg += "<text x=\"" + Fmt("%.1f", sx(static_cast<double>(i))) + "\" y=\"" + Fmt("%.1f", kTop + ph + 14) +
             "\" text-anchor=\"middle\">" + Escape(x_labels[i]) + "</text>\n";
    }
  }
  svg += "<text x=\"" + Fmt("%.1f", kLeft + pw / 2) + "\" y=\"" + Fmt("%.1f", kH - 8) + "\" text-anchor=\"middle\">" +
         Escape(x_title) + "</text>\n";
  svg += "<text transform=\"translate(14," + Fmt("%.1f", kTop + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         Escape(y_title) + "</text>\n";
  for (size_t k = 0; k < series.size(); k++) {
    const char* color = kColors[k % std::size(kColors)];
    std::string pts;
    for (auto [x, y] : series[k].points) pts += Fmt("%.1f", sx(x)) + "," + Fmt("%.1f", sy(y)) + " ";
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"1.5\" points=\"" + pts +
           "\"/>\n";
    if (series[k].points.size() <= 32) {
      for (auto [x, y] : series[k].points) {
        svg += "<circle cx=\"" + Fmt("%.1f", sx(x)) + "\" cy=\"" + Fmt("%.1f", sy(y)) + "\" r=\"3\" fill=\"" + color +
               "\"/>";
      }
    }
    svg += "<text x=\"" + Fmt("%.1f", kLeft + pw - 4) + "\" y=\"" + Fmt("%.1f", kTop + 14 + 13.0 * k) +
           "\" text-anchor=\"end\" fill=\"" + color + "\">" + Escape(series[k].name) + "</text>\n";
  }
  return svg + "</svg>\n";
}

// The empirical CDF of `values`, at most ~200 points so big runs keep the page small.
std::vector<std::pair<double, double>> Cdf(std::vector<double> values) {
  std::vector<std::pair<double, double>> points;
  if (values.empty()) return points;
  std::sort(values.begin(), values.end());
  const size_t step = std::max<size_t>(1, values.size() / 200);
  points.emplace_back(values.front(), 0.0);
  for (size_t i = 0; i < values.size(); i += step)
    points.emplace_back(values[i], static_cast<double>(i + 1) / values.size());
  points.emplace_back(values.back(), 1.0);
  return points;
}

std::string RunName(const BenchStats& r) {
  return "c=" + ConcurrencyLabel(r.config.max_concurrency) + " rate=" + RateLabel(r.config.request_rate);
}

// One run's power over time, a line per device; a line of text when nothing was sampled.
std::string PowerPlot(const BenchStats& r) {
  if (r.power_samples.empty()) return "<p>" + Escape(RunName(r)) + ": no power data</p>\n";
  std::map<std::string, Series> by_device;
  for (const PowerSample& p : r.power_samples) {
    for (const auto& [device, watts] : p.watts) {
      Series& s = by_device[device];
      s.name = device;
      s.points.emplace_back(p.t_s, watts);
    }
  }
  std::vector<Series> series;
  series.reserve(by_device.size());
  for (auto& [device, s] : by_device) series.push_back(std::move(s));
  return Plot("Power, " + RunName(r), "seconds since the run's start", "W", series);
}

std::string FiguresTable(const std::vector<BenchStats>& runs) {
  std::string t =
      "<table><tr><th>concurrency</th><th>rate</th><th>ok</th><th>failed</th><th>errors</th><th>req/s</th>"
      "<th>goodput</th><th>out tok/s</th><th>total tok/s</th><th>TTFT p50/p99</th><th>TPOT p50/p99</th>"
      "<th>ITL p50/p99</th><th>E2EL p50/p99</th></tr>\n";
  for (const BenchStats& r : runs) {
    std::string errors;
    for (const auto& [key, count] : r.errors_by_status) errors += Escape(key) + ": " + std::to_string(count) + " ";
    auto pair = [](const Distribution& d) { return Fmt("%.1f", d.median) + " / " + Fmt("%.1f", d.p99); };
    t += "<tr><td>" + ConcurrencyLabel(r.config.max_concurrency) + "</td><td>" + RateLabel(r.config.request_rate) +
         "</td><td>" + std::to_string(r.completed) + "</td><td>" + std::to_string(r.failed) + "</td><td>" + errors +
         "</td><td>" + Fmt("%.2f", r.request_throughput) + "</td><td>" + (r.goodput ? Fmt("%.2f", *r.goodput) : "-") +
         "</td><td>" + Fmt("%.1f", r.output_throughput) + "</td><td>" + Fmt("%.1f", r.total_token_throughput) +
         "</td><td>" + pair(r.ttft_ms) + "</td><td>" + pair(r.tpot_ms) + "</td><td>" + pair(r.itl_ms) + "</td><td>" +
         pair(r.e2el_ms) + "</td></tr>\n";
  }
  return t + "</table>\n";
}

}  // namespace

std::string ReportToHtml(const BenchReport& report) {
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>fpgaserve bench serve</title>\n<style>"
      "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;font-size:12px}"
      "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}code{background:#f4f4f4;padding:2px 4px}"
      "svg{margin:8px 16px 8px 0;border:1px solid #eee}</style></head><body>\n";
  html += "<h1>fpgaserve bench serve</h1>\n<p><code>" + Escape(report.command) + "</code></p>\n";
  html += "<p>" + Escape(report.date) + " &middot; server " + Escape(report.url) + " &middot; model " +
          Escape(report.model) + " &middot; " + Escape(report.endpoint) + " &middot; " + Escape(report.workload) +
          (report.slo.empty() ? "" : " &middot; SLO " + Escape(report.slo)) + "</p>\n";
  html += FiguresTable(report.runs);

  // Throughput against the swept parameter, one point per run in the order they ran.
  bool concurrency_varies = false, rate_varies = false;
  for (const BenchStats& r : report.runs) {
    concurrency_varies |= r.config.max_concurrency != report.runs[0].config.max_concurrency;
    rate_varies |= RateLabel(r.config.request_rate) != RateLabel(report.runs[0].config.request_rate);
  }
  const std::string x_title = concurrency_varies && rate_varies ? "max concurrency / request rate"
                              : rate_varies                     ? "request rate (req/s)"
                                                                : "max concurrency";
  std::vector<std::string> labels;
  Series out{"output tok/s", {}}, total{"total tok/s", {}}, reqs{"requests/s", {}};
  for (size_t i = 0; i < report.runs.size(); i++) {
    const BenchStats& r = report.runs[i];
    const std::string c = ConcurrencyLabel(r.config.max_concurrency), rate = RateLabel(r.config.request_rate);
    labels.push_back(concurrency_varies && rate_varies ? c + "/" + rate : rate_varies ? rate : c);
    out.points.emplace_back(static_cast<double>(i), r.output_throughput);
    total.points.emplace_back(static_cast<double>(i), r.total_token_throughput);
    reqs.points.emplace_back(static_cast<double>(i), r.request_throughput);
  }
  html += "<h2>Throughput</h2>\n<div>";
  html += Plot("Token throughput vs " + x_title, x_title, "tokens/s", {out, total}, labels);
  html += Plot("Request throughput vs " + x_title, x_title, "requests/s", {reqs}, labels);
  html += "</div>\n<h2>Latency distributions (CDF)</h2>\n<div>";
  std::vector<Series> ttft, itl, e2el;
  for (const BenchStats& r : report.runs) {
    ttft.push_back({RunName(r), Cdf(r.ttft_samples)});
    itl.push_back({RunName(r), Cdf(r.itl_samples)});
    e2el.push_back({RunName(r), Cdf(r.e2el_samples)});
  }
  html += Plot("TTFT", "ms", "fraction of requests", ttft);
  html += Plot("Inter-token latency", "ms", "fraction of gaps", itl);
  html += Plot("End-to-end latency", "ms", "fraction of requests", e2el);
  html += "</div>\n<h2>Power over the run</h2>\n<div>";
  for (const BenchStats& r : report.runs) html += PowerPlot(r);
  html += "</div>\n</body></html>\n";
  return html;
}

}  // namespace fpgaserve
