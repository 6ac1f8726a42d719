// Checks of numeric flags with one-line messages: CLI11's own NonNegativeNumber and PositiveNumber
// print their bound, DBL_MAX, with all 309 digits.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <string>

namespace trainer {

// "" when `text` is a finite number (the library checks integers and ranges further), else why not.
inline std::string number_problem(const std::string& text, bool allow_zero) {
  const std::string shown = text.size() > 40 ? text.substr(0, 40) + "…" : text;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) return "expected a number, got '" + shown + "'";
  if (v < 0 || (!allow_zero && v == 0)) return std::string("must be ") + (allow_zero ? ">= 0" : "> 0") + ", got " + shown;
  return "";
}

inline const CLI::Validator kNonNegative([](std::string& s) { return number_problem(s, true); }, "NUMBER >= 0");
inline const CLI::Validator kPositive([](std::string& s) { return number_problem(s, false); }, "NUMBER > 0");

}  // namespace trainer
