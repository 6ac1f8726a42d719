// The report's plots as inline SVG (docs/report.md): no script library, no external file. Each
// plot is a <figure class="plot" data-plot="ID"> whose series carry data-run and data-points, so
// a test (or a reader of the file) can check what is drawn.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace trainer {

std::string html_escape(const std::string& text);
// The colour of the i-th run (a fixed palette, repeated).
std::string run_color(size_t i);

struct PlotSeries {
  std::string run;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y are left out
};

// Overlaid lines, one per series, with axes, ticks and a legend. With `log_toggle`, a log-scale
// copy of each line (values > 0) and a checkbox that switches between them.
std::string line_plot(const std::string& id, const std::string& title, const std::string& x_label,
                      const std::vector<PlotSeries>& series, bool log_toggle);

// One point per label: y against x (a sweep's metric against one parameter).
std::string scatter_plot(const std::string& id, const std::string& title, const std::string& x_label,
                         const std::string& y_label, const std::vector<std::pair<double, double>>& points,
                         const std::vector<std::string>& labels);

// Parallel coordinates: one vertical axis per column, one line per row, coloured by the last
// column (the metric). Columns are scaled to their own [min, max]; `ticks` names each axis' ends.
std::string parallel_coordinates(const std::string& id, const std::string& title, const std::vector<std::string>& axes,
                                 const std::vector<std::vector<double>>& rows, const std::vector<std::string>& labels);

}  // namespace trainer
