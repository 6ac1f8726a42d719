#include "tensorboard_writer.h"

#include <unistd.h>

#include <boost/crc.hpp>
#include <chrono>
#include <cstring>

#include "errors.h"
#include "run_files.h"
#include "tensorboard.pb.h"

namespace trainer {

namespace fs = std::filesystem;
namespace tb = detnn::tensorboard;
using nlohmann::json;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

tb::Event event_at(int64_t step) {
  tb::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  return e;
}

google::protobuf::Value proto_value(const json& v) {
  google::protobuf::Value out;
  if (v.is_boolean()) out.set_bool_value(v.get<bool>());
  else if (v.is_number()) out.set_number_value(v.get<double>());
  else if (v.is_string()) out.set_string_value(v.get<std::string>());
  else out.set_string_value(v.dump());
  return out;
}

void append_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

TensorBoardWriter::TensorBoardWriter(const fs::path& dir, const std::string& suffix) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir.string() + ": cannot create: " + ec.message());
  char host[256] = "host";
  ::gethostname(host, sizeof host - 1);
  // TensorBoard reads a run's files in name order: the time first, then this process.
  path_ = dir / ("events.out.tfevents." + std::to_string(static_cast<long long>(now_seconds())) + "." + host + "." +
                 std::to_string(::getpid()) + suffix);
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) throw IoError(path_.string() + ": cannot open: " + std::strerror(errno));
  tb::Event e = event_at(0);
  e.set_file_version("brain.Event:2");
  write_event(e.SerializeAsString());
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::write_event(const std::string& data) {
  std::string record;
  std::string length;
  append_le(length, data.size(), 8);
  record += length;
  append_le(record, masked_crc32c(length.data(), length.size()), 4);
  record += data;
  append_le(record, masked_crc32c(data.data(), data.size()), 4);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw IoError(path_.string() + ": cannot write: " + std::strerror(errno));
}

void TensorBoardWriter::scalar(const std::string& tag, int64_t step, double value) {
  tb::Event e = event_at(step);
  tb::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::text(const std::string& tag, int64_t step, const std::string& markdown) {
  tb::Event e = event_at(step);
  tb::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  tb::Tensor* t = v->mutable_tensor();
  t->set_dtype(7);  // DT_STRING, a scalar
  t->add_string_val(markdown);
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::restart_at(int64_t step) {
  tb::Event e = event_at(step);
  e.mutable_session_log()->set_status(tb::SessionLog::START);
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::metrics_line(const json& line) {
  const std::string type = line.value("type", "");
  if (type != "step" && type != "epoch") return;
  const int64_t step = line.value("step", 0LL);
  for (auto it = line.begin(); it != line.end(); ++it) {
    if (!it.value().is_number() || it.key() == "step" || it.key() == "epoch" || it.key() == "batch") continue;
    scalar(type + "/" + it.key(), step, it.value().get<double>());
  }
  flush();
}

void TensorBoardWriter::hparams_record(const std::string& tag, const std::string& plugin_data) {
  tb::Event e = event_at(0);
  tb::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("hparams");
  v->mutable_metadata()->mutable_plugin_data()->set_content(plugin_data);
  write_event(e.SerializeAsString());
}

void TensorBoardWriter::hparams_experiment(const std::string& name, const std::vector<HParam>& hparams,
                                           const std::vector<std::string>& metric_tags) {
  tb::HParamsPluginData data;
  tb::Experiment* x = data.mutable_experiment();
  x->set_name(name);
  x->set_time_created_secs(now_seconds());
  for (const HParam& h : hparams) {
    tb::HParamInfo* info = x->add_hparam_infos();
    info->set_name(h.name);
    if (h.values.empty()) {
      info->set_type(tb::HParamInfo::DATA_TYPE_FLOAT64);
      if (h.interval) {
        info->mutable_domain_interval()->set_min_value(h.min);
        info->mutable_domain_interval()->set_max_value(h.max);
      }
      continue;
    }
    bool numbers = true, bools = true;
    for (const json& v : h.values) numbers = numbers && v.is_number(), bools = bools && v.is_boolean();
    info->set_type(numbers ? tb::HParamInfo::DATA_TYPE_FLOAT64
                           : bools ? tb::HParamInfo::DATA_TYPE_BOOL : tb::HParamInfo::DATA_TYPE_STRING);
    for (const json& v : h.values) {
      // A value of another type than its parameter's is shown as text.
      json shown = v;
      if (!numbers && !bools && !v.is_string()) shown = v.dump();
      *info->mutable_domain_discrete()->add_values() = proto_value(shown);
    }
  }
  for (const std::string& tag : metric_tags) x->add_metric_infos()->mutable_name()->set_tag(tag);
  hparams_record("_hparams_/experiment", data.SerializeAsString());
  flush();
}

void TensorBoardWriter::hparams_session(const std::string& group, const std::map<std::string, json>& values,
                                        bool succeeded, double start_time, double end_time) {
  tb::HParamsPluginData start;
  tb::SessionStartInfo* s = start.mutable_session_start_info();
  s->set_group_name(group);
  s->set_start_time_secs(start_time);
  for (const auto& [k, v] : values) (*s->mutable_hparams())[k] = proto_value(v);
  hparams_record("_hparams_/session_start_info", start.SerializeAsString());
  tb::HParamsPluginData end;
  end.mutable_session_end_info()->set_status(succeeded ? tb::SessionEndInfo::STATUS_SUCCESS
                                                       : tb::SessionEndInfo::STATUS_FAILURE);
  end.mutable_session_end_info()->set_end_time_secs(end_time);
  hparams_record("_hparams_/session_end_info", end.SerializeAsString());
  flush();
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_) != 0) throw IoError(path_.string() + ": cannot write: " + std::strerror(errno));
}

}  // namespace trainer
