// The trainer's errors. Every failure ends as one line on stderr, "trainer: <reason>", and exit
// status 1 (main.cpp); with --verbose a second line says where detnn's source refused it. A failed
// detnn call (detnn::CApiError from detnn.hpp) reads
// "<what the trainer was doing>: <detnn's message> [<status>]", e.g.
// "--epochs: training.epochs: ... [invalid argument]", where a step names its context.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

#include "detnn/detnn.hpp"
#include "sweep/sweep_config.h"

namespace trainer {

namespace api = detnn::api;

// A failure the trainer finds itself (contradictory flags, a refused resume), or a detnn failure
// with the trainer's context in front.
struct TrainerError : std::runtime_error {
  explicit TrainerError(const std::string& message, std::string where = {})
      : std::runtime_error(message), location(std::move(where)) {}
  std::string location;  // where detnn refused the call ("" if the trainer itself did): --verbose
};

// A value from a file for a message: control characters as \xNN (a message is one line), cut to
// 40 bytes.
inline std::string shown(const std::string& text) { return sweep::shown_text(text, 40); }

// Where in detnn's source the error was refused, for --verbose ("" when not known).
inline std::string location_of(const std::exception& e) {
  if (const auto* c = dynamic_cast<const detnn::CApiError*>(&e)) return c->location();
  if (const auto* t = dynamic_cast<const TrainerError*>(&e)) return t->location;
  return {};
}

// The one-line reason for any error: for a detnn failure without context, its message and status.
inline std::string reason(const std::exception& e) {
  if (const auto* c = dynamic_cast<const detnn::CApiError*>(&e))
    return c->message() + " [" + detnn_status_string(c->status()) + "]";
  return e.what();
}

// Runs `call`; a detnn failure in it becomes TrainerError("<what>: <message> [<status>]") ("" for
// `what` when the message already names the file, as a model file's does). Other errors pass
// unchanged (they already say what failed).
template <class Call>
auto with_context(const std::string& what, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const detnn::CApiError& e) {
    // No context when there is none, or when the message already starts with it ("data: …").
    const std::string message = reason(e);
    const bool said = what.empty() || message.rfind(what + ":", 0) == 0;
    throw TrainerError((said ? "" : what + ": ") + message, e.location());
  }
}

}  // namespace trainer
