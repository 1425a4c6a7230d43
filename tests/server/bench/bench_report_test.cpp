#include "server/bench/bench_report.h"

#include <limits>

#include <gtest/gtest.h>

namespace fpgaserve {
namespace {

BenchStats SampleRun(int concurrency) {
  LoadResult result;
  result.duration_s = 1.0;
  for (int i = 0; i < 20; i++) {
    RequestRecord r;
    r.ttft_s = 0.01 * (i + 1);
    r.e2el_s = r.ttft_s + 0.5;
    r.completion_tokens = 8;
    r.prompt_tokens = 4;
    r.itl_s = {0.01, 0.02, 0.03};
    result.records.push_back(r);
  }
  RequestRecord failed;
  failed.outcome = RequestOutcome::kHttpStatus;
  failed.http_status = 503;
  result.records.push_back(failed);
  return ComputeStats(result, {concurrency, std::numeric_limits<double>::infinity(), 1.0},
                      ParseSlo("ttft=100").value());
}

BenchReport SampleReport(int runs) {
  BenchReport report;
  report.command = "fpgaserve bench serve --url http://127.0.0.1:8080 --concurrency 1,8 --model <m&m>";
  report.url = "http://127.0.0.1:8080";
  report.model = "<m&m>";
  report.endpoint = "/v1/completions";
  report.date = "2025-01-01T00:00:00+0000";
  report.workload = "random token ids";
  for (int i = 0; i < runs; i++) report.runs.push_back(SampleRun(i == 0 ? 1 : 8));
  return report;
}

TEST(BenchReportTest, JsonUsesVllmFieldNamesAndKeepsTheCommand) {
  const nlohmann::json j = ReportToJson(SampleReport(1));
  for (const char* field :
       {"completed",       "failed",         "request_throughput", "output_throughput",  "total_token_throughput",
        "mean_ttft_ms",    "median_ttft_ms", "p90_ttft_ms",        "p99_ttft_ms",        "mean_tpot_ms",
        "median_tpot_ms",  "p90_tpot_ms",    "p99_tpot_ms",        "mean_itl_ms",        "median_itl_ms",
        "p90_itl_ms",      "p99_itl_ms",     "mean_e2el_ms",       "median_e2el_ms",     "p90_e2el_ms",
        "p99_e2el_ms",     "goodput",        "duration",           "total_input_tokens", "total_output_tokens",
        "max_concurrency", "request_rate",   "burstiness",         "errors_by_status",   "command"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["completed"], 20);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_EQ(j["errors_by_status"]["503"], 1);
  EXPECT_EQ(j["request_rate"], "inf");
  EXPECT_EQ(j["max_concurrency"], 1);
  EXPECT_EQ(j["goodput"], 10.0);  // TTFTs are 10, 20 .. 200 ms: 10 meet ttft=100 in 1 s
  EXPECT_EQ(j["command"].get<std::string>().rfind("fpgaserve bench serve ", 0), 0u);
  EXPECT_EQ(j["runs"].size(), 1u);
}

TEST(BenchReportTest, SweepJsonHasOneEntryPerRun) {
  const nlohmann::json j = ReportToJson(SampleReport(2));
  ASSERT_EQ(j["runs"].size(), 2u);
  EXPECT_EQ(j["runs"][1]["max_concurrency"], 8);
  EXPECT_FALSE(j.contains("completed"));  // a sweep has no single figure to put at the top
}

TEST(BenchReportTest, HtmlIsSelfContainedWithPlots) {
  const std::string html = ReportToHtml(SampleReport(2));
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The only http:// allowed is the SVG namespace; the server's URL appears as text (the command, the
  // header line), which references nothing. Remove those and no http:// may remain.
  std::string rest = html;
  for (const std::string allowed : {"xmlns=\"http://www.w3.org/2000/svg\"", "http://127.0.0.1:8080"}) {
    for (size_t at; (at = rest.find(allowed)) != std::string::npos;) rest.erase(at, allowed.size());
  }
  EXPECT_EQ(rest.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<m&m>"), std::string::npos);  // text is escaped
  EXPECT_NE(html.find("&lt;m&amp;m&gt;"), std::string::npos);
}

// Run 0 sampled two cards three times; run 1 has no power data.
BenchReport ReportWithPower() {
  BenchReport report = SampleReport(2);
  report.runs[0].power_samples = {{0.5, {{"xrt0", 20}, {"xrt1", 30}}},
                                  {1.0, {{"xrt0", 22}, {"xrt1", 31}}},
                                  {1.5, {{"xrt0", 21}, {"xrt1", 33}}}};
  return report;
}

// The part of `html` from the first `from` to the next `to` after it; "" when `from` is absent.
std::string Between(const std::string& html, const std::string& from, const std::string& to) {
  const size_t begin = html.find(from);
  if (begin == std::string::npos) return "";
  return html.substr(begin, html.find(to, begin) - begin);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

TEST(BenchReportTest, HtmlPlotsPowerOverTheRunAsALinePerDevice) {
  const std::string html = ReportToHtml(ReportWithPower());
  const std::string section = Between(html, "<h2>Power over the run</h2>", "</body>");
  ASSERT_NE(section, "");
  const std::string plot = Between(section, "<svg", "</svg>");
  EXPECT_NE(plot.find(">Power, c=1 rate=inf</text>"), std::string::npos) << plot;
  EXPECT_NE(plot.find(">seconds since the run's start</text>"), std::string::npos);
  EXPECT_EQ(Count(plot, "<polyline"), 2u) << "one line per device";
  EXPECT_NE(plot.find(">xrt0</text>"), std::string::npos);
  EXPECT_NE(plot.find(">xrt1</text>"), std::string::npos);
  // Each line has its three samples: x at 0.5, 1 and 1.5 s of 1.5 s across the plot area (64 to 544).
  const std::string line = Between(plot, "<polyline", "/>");
  EXPECT_EQ(Count(Between(line, "points=\"", "\"/>"), ","), 3u) << line;
  EXPECT_NE(line.find("points=\"224.0,"), std::string::npos) << line;
  EXPECT_NE(line.find(" 544.0,"), std::string::npos) << line;
  EXPECT_NE(section.find("<p>c=8 rate=inf: no power data</p>"), std::string::npos) << "the run without samples says so";
  EXPECT_EQ(Count(section, "<svg"), 1u);
}

TEST(BenchReportTest, HtmlSaysNoPowerDataWhenNothingWasSampled) {
  const std::string html = ReportToHtml(SampleReport(1));
  const std::string section = Between(html, "<h2>Power over the run</h2>", "</body>");
  EXPECT_NE(section.find("c=1 rate=inf: no power data"), std::string::npos) << section;
  EXPECT_EQ(section.find("<svg"), std::string::npos);
  EXPECT_EQ(section.find("<polyline"), std::string::npos);
}

TEST(BenchReportTest, JsonKeepsThePowerSamplesOfEachRun) {
  const nlohmann::json j = ReportToJson(ReportWithPower());
  const nlohmann::json& p = j["runs"][0]["power_samples"];
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[1]["t_s"], 1.0);
  EXPECT_EQ(p[1]["watts"]["xrt0"], 22.0);
  EXPECT_EQ(p[2]["watts"]["xrt1"], 33.0);
  EXPECT_TRUE(j["runs"][1]["power_samples"].is_array());
  EXPECT_TRUE(j["runs"][1]["power_samples"].empty());
}

TEST(BenchReportTest, TableNamesFailuresByStatus) {
  const std::string table = FormatRunTable(SampleRun(4));
  EXPECT_NE(table.find("Successful requests:"), std::string::npos);
  EXPECT_NE(table.find("failed: 503"), std::string::npos);
  EXPECT_NE(table.find("P99 ITL (ms):"), std::string::npos);
}

}  // namespace
}  // namespace fpgaserve
