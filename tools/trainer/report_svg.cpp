#include "report_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace trainer {

namespace {

constexpr double kWidth = 560, kHeight = 260, kLeft = 62, kRight = 16, kTop = 28, kBottom = 40;

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_text(double v) {
  char b[32];
  if (v != 0 && (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e5)) std::snprintf(b, sizeof b, "%.1e", v);
  else std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
  void pad() {
    if (empty()) lo = 0, hi = 1;
    if (lo == hi) lo -= 0.5, hi += 0.5;
  }
  double at(double v, double a, double b) const { return a + (v - lo) / (hi - lo) * (b - a); }
};

// Ticks at round values (1, 2 or 5 times a power of ten apart) inside [lo, hi].
std::vector<double> nice_ticks(const Range& r) {
  const double raw = (r.hi - r.lo) / 4;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  for (double v = std::ceil(r.lo / step) * step; v <= r.hi + step * 1e-9 && out.size() < 12; v += step)
    out.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

// Axes with round ticks, labels.
std::string axes(const Range& x, const Range& y, const std::string& x_label, bool log_y) {
  std::string s;
  const double x0 = kLeft, x1 = kWidth - kRight, y0 = kHeight - kBottom, y1 = kTop;
  s += "<line class=\"axis\" x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y0) + "\"/>";
  s += "<line class=\"axis\" x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x0) + "\" y2=\"" + num(y1) + "\"/>";
  for (double vx : nice_ticks(x)) {
    const double px = x.at(vx, x0, x1);
    s += "<text class=\"tick\" x=\"" + num(px) + "\" y=\"" + num(y0 + 14) + "\" text-anchor=\"middle\">" + tick_text(vx) + "</text>";
  }
  for (double vy : nice_ticks(y)) {
    const double py = y.at(vy, y0, y1);
    s += "<line class=\"grid\" x1=\"" + num(x0) + "\" y1=\"" + num(py) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(py) + "\"/>";
    s += "<text class=\"tick\" x=\"" + num(x0 - 4) + "\" y=\"" + num(py + 4) + "\" text-anchor=\"end\">" +
         tick_text(log_y ? std::pow(10.0, vy) : vy) + "</text>";
  }
  s += "<text class=\"label\" x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num(kHeight - 6) + "\" text-anchor=\"middle\">" +
       html_escape(x_label) + "</text>";
  return s;
}

std::string svg_open() {
  return "<svg viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) + "\" width=\"" + num(kWidth) + "\" height=\"" +
         num(kHeight) + "\" role=\"img\">";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string run_color(size_t i) {
  static const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                   "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
  return kPalette[i % 10];
}

std::string line_plot(const std::string& id, const std::string& title, const std::string& x_label,
                      const std::vector<PlotSeries>& series, bool log_toggle) {
  Range x, y, ly;
  for (const PlotSeries& s : series)
    for (const auto& [px, py] : s.points) {
      if (!std::isfinite(py)) continue;
      x.add(px);
      y.add(py);
      if (py > 0) ly.add(std::log10(py));
    }
  x.pad();
  y.pad();
  ly.pad();
  std::string out = "<figure class=\"plot\" data-plot=\"" + html_escape(id) + "\"><figcaption>" + html_escape(title);
  if (log_toggle)
    out += " <label><input type=\"checkbox\" onchange=\"this.closest('figure').classList.toggle('logscale', this.checked)\">"
           " log scale</label>";
  out += "</figcaption>" + svg_open();
  out += "<g class=\"lin\">" + axes(x, y, x_label, false);
  const auto polyline = [&](const PlotSeries& s, bool log, const Range& yr) {
    std::string pts;
    size_t n = 0;
    for (const auto& [px, py] : s.points) {
      if (!std::isfinite(py) || (log && py <= 0)) continue;
      const double v = log ? std::log10(py) : py;
      pts += (pts.empty() ? "" : " ") + num(x.at(px, kLeft, kWidth - kRight)) + "," + num(yr.at(v, kHeight - kBottom, kTop));
      ++n;
    }
    return "<polyline class=\"series\" data-run=\"" + html_escape(s.run) + "\" data-points=\"" + std::to_string(n) +
           "\" fill=\"none\" stroke=\"" + s.color + "\" points=\"" + pts + "\"/>";
  };
  for (const PlotSeries& s : series) out += polyline(s, false, y);
  out += "</g>";
  if (log_toggle) {
    out += "<g class=\"log\">" + axes(x, ly, x_label, true);
    for (const PlotSeries& s : series) out += polyline(s, true, ly);
    out += "</g>";
  }
  out += "</svg><div class=\"legend\">";
  for (const PlotSeries& s : series)
    out += "<span><i style=\"background:" + s.color + "\"></i>" + html_escape(s.run) + "</span>";
  return out + "</div></figure>\n";
}

std::string scatter_plot(const std::string& id, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<std::pair<double, double>>& points,
                         const std::vector<std::string>& labels) {
  Range x, y;
  for (const auto& [px, py] : points) x.add(px), y.add(py);
  x.pad();
  y.pad();
  std::string out = "<figure class=\"plot\" data-plot=\"" + html_escape(id) + "\"><figcaption>" + html_escape(title) +
                    "</figcaption>" + svg_open() + axes(x, y, x_label, false);
  out += "<text class=\"label\" x=\"12\" y=\"" + num(kTop - 10) + "\">" + html_escape(y_label) + "</text>";
  for (size_t i = 0; i < points.size(); ++i) {
    if (!std::isfinite(points[i].first) || !std::isfinite(points[i].second)) continue;
    out += "<circle class=\"point\" r=\"4\" cx=\"" + num(x.at(points[i].first, kLeft, kWidth - kRight)) + "\" cy=\"" +
           num(y.at(points[i].second, kHeight - kBottom, kTop)) + "\"><title>" + html_escape(labels[i]) + "</title></circle>";
  }
  return out + "</svg></figure>\n";
}

std::string parallel_coordinates(const std::string& id, const std::string& title, const std::vector<std::string>& axes_names,
                                 const std::vector<std::vector<double>>& rows, const std::vector<std::string>& labels) {
  const size_t n = axes_names.size();
  std::vector<Range> ranges(n);
  for (const auto& row : rows)
    for (size_t k = 0; k < n; ++k) ranges[k].add(row[k]);
  for (Range& r : ranges) r.pad();
  const double width = std::max(kWidth, 140.0 * static_cast<double>(n));
  const double right = 48;  // room for the last axis' label
  const auto axis_x = [&](size_t k) { return n == 1 ? width / 2 : kLeft + (width - kLeft - right) * k / (n - 1); };
  std::string out = "<figure class=\"plot\" data-plot=\"" + html_escape(id) + "\"><figcaption>" + html_escape(title) +
                    "</figcaption><svg viewBox=\"0 0 " + num(width) + " " + num(kHeight) + "\" width=\"" + num(width) +
                    "\" height=\"" + num(kHeight) + "\" role=\"img\">";
  for (size_t r = 0; r < rows.size(); ++r) {
    // Colour by the metric: blue (low) to red (high).
    const double t = ranges[n - 1].at(std::isfinite(rows[r][n - 1]) ? rows[r][n - 1] : ranges[n - 1].lo, 0, 1);
    char color[16];
    std::snprintf(color, sizeof color, "#%02x40%02x", static_cast<int>(40 + 200 * t), static_cast<int>(240 - 200 * t));
    std::string pts;
    for (size_t k = 0; k < n; ++k) {
      const double v = std::isfinite(rows[r][k]) ? rows[r][k] : ranges[k].lo;
      pts += (k ? " " : "") + num(axis_x(k)) + "," + num(ranges[k].at(v, kHeight - kBottom, kTop));
    }
    out += "<polyline class=\"series\" data-run=\"" + html_escape(labels[r]) + "\" data-points=\"" + std::to_string(n) +
           "\" fill=\"none\" stroke=\"" + color + "\" points=\"" + pts + "\"><title>" + html_escape(labels[r]) +
           "</title></polyline>";
  }
  for (size_t k = 0; k < n; ++k) {
    const double ax = axis_x(k);
    out += "<line class=\"axis\" x1=\"" + num(ax) + "\" y1=\"" + num(kHeight - kBottom) + "\" x2=\"" + num(ax) +
           "\" y2=\"" + num(kTop) + "\"/>";
    out += "<text class=\"tick\" x=\"" + num(ax) + "\" y=\"" + num(kTop - 6) + "\" text-anchor=\"middle\">" +
           tick_text(ranges[k].hi) + "</text>";
    out += "<text class=\"tick\" x=\"" + num(ax) + "\" y=\"" + num(kHeight - kBottom + 14) + "\" text-anchor=\"middle\">" +
           tick_text(ranges[k].lo) + "</text>";
    out += "<text class=\"label\" x=\"" + num(ax) + "\" y=\"" + num(kHeight - 6) + "\" text-anchor=\"middle\">" +
           html_escape(axes_names[k]) + "</text>";
  }
  return out + "</svg></figure>\n";
}

}  // namespace trainer
