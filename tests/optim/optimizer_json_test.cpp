#include <gtest/gtest.h>

#include <string>

#include "optim/optimizer.h"
#include "runtime/error.h"

namespace detnn::optim {
namespace {

// The message of the Error(format) that parsing `j` as the "optimizer" object throws.
std::string parse_error(const nlohmann::json& j) {
  try {
    parse_optimizer_spec(j, "optimizer");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for " << j.dump();
  return "";
}

#define EXPECT_PARSE_ERROR(json, text) EXPECT_NE(parse_error(json).find(text), std::string::npos) << parse_error(json)

TEST(OptimizerSpec, PyTorchDefaults) {
  const OptimizerSpec sgd = parse_optimizer_spec(nlohmann::json::object(), "optimizer");
  EXPECT_EQ(sgd.type, "sgd");
  EXPECT_EQ(sgd.lr, 1e-3);
  EXPECT_EQ(sgd.momentum, 0.0);
  EXPECT_EQ(sgd.weight_decay, 0.0);
  EXPECT_EQ(sgd.clip_grad_norm, 0.0);
  EXPECT_EQ(sgd.schedule.type, ScheduleType::constant);
  EXPECT_EQ(parse_optimizer_spec({{"type", "adam"}}, "o").weight_decay, 0.0);
  const OptimizerSpec adamw = parse_optimizer_spec({{"type", "adamw"}}, "o");
  EXPECT_EQ(adamw.weight_decay, 0.01);
  EXPECT_EQ(adamw.beta1, 0.9);
  EXPECT_EQ(adamw.beta2, 0.999);
  EXPECT_EQ(adamw.eps, 1e-8);
}

TEST(OptimizerSpec, JsonRoundTrip) {
  for (const nlohmann::json& j : {
           nlohmann::json{{"type", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}, {"weight_decay", 5e-4},
                          {"schedule", {{"type", "multistep"}, {"milestones", {30, 60}}, {"warmup_steps", 100}}}},
           nlohmann::json{{"type", "adamw"}, {"betas", {0.8, 0.95}}, {"clip_grad_norm", 1.0},
                          {"schedule", {{"type", "onecycle"}, {"max_lr", 0.01}, {"anneal", "linear"}}}},
       }) {
    const nlohmann::json once = to_json(parse_optimizer_spec(j, "optimizer"));
    EXPECT_EQ(to_json(parse_optimizer_spec(once, "optimizer")), once);
    EXPECT_EQ(once.at("lr"), j.value("lr", 1e-3));
  }
}

TEST(OptimizerSpec, ErrorsNameTheJsonPath) {
  EXPECT_PARSE_ERROR((nlohmann::json{{"lr", 0.1}, {"momentom", 0.9}}), "optimizer.momentom: unknown key");
  EXPECT_PARSE_ERROR((nlohmann::json{{"lr", "fast"}}), "optimizer.lr: expected a number");
  EXPECT_PARSE_ERROR((nlohmann::json{{"lr", -0.1}}), "optimizer.lr: expected a number >= 0");
  EXPECT_PARSE_ERROR((nlohmann::json{{"nesterov", true}}), "optimizer.nesterov: nesterov needs momentum > 0");
  EXPECT_PARSE_ERROR((nlohmann::json{{"momentum", 0.9}, {"dampening", 0.1}, {"nesterov", true}}),
                     "optimizer.nesterov");
  EXPECT_PARSE_ERROR((nlohmann::json{{"nesterov", "yes"}}), "optimizer.nesterov: expected true or false");
  EXPECT_PARSE_ERROR((nlohmann::json{{"type", "rmsprop"}}), "optimizer.type: expected one of sgd | adam | adamw");
  EXPECT_PARSE_ERROR((nlohmann::json{{"type", "adam"}, {"momentum", 0.9}}), "optimizer.momentum: unknown key");
  EXPECT_PARSE_ERROR((nlohmann::json{{"type", "sgd"}, {"betas", {0.9, 0.99}}}), "optimizer.betas: unknown key");
  EXPECT_PARSE_ERROR((nlohmann::json{{"type", "adam"}, {"betas", {0.9, 1.0}}}), "optimizer.betas[1]: expected");
  EXPECT_PARSE_ERROR((nlohmann::json{{"type", "adam"}, {"betas", 0.9}}), "optimizer.betas: expected an array");
  EXPECT_PARSE_ERROR((nlohmann::json{{"clip_grad_norm", -1}}), "optimizer.clip_grad_norm");
  EXPECT_PARSE_ERROR((nlohmann::json{{"schedule", {{"type", "warm_restarts"}}}}), "optimizer.schedule.type");
  EXPECT_PARSE_ERROR((nlohmann::json{{"schedule", {{"type", "cosine"}, {"T_max", "ten"}}}}),
                     "optimizer.schedule.T_max");
  EXPECT_PARSE_ERROR((nlohmann::json::array()), "optimizer: expected an object");
}

}  // namespace
}  // namespace detnn::optim
