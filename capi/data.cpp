// The C API's data handles (detnn_data, detnn_loader), over data/.
#include <memory>
#include <optional>

#include "capi/handles.h"
#include "data/augment.h"
#include "data/batches.h"
#include "data/data_spec.h"
#include "data/prefetcher.h"
#include "runtime/device.h"
#include "runtime/io/safetensors.h"

struct detnn_data {
  detnn::data::LoadedData loaded;
  detnn::data::AugmentSpec augment;       // training: crop/flip + normalization
  detnn::data::AugmentSpec eval_augment;  // validation: normalization only
  std::unique_ptr<detnn::data::BatchPlan> plan;  // null when the set holds fewer than one batch
  int64_t batch_size = 0;                          // the model's, with or without a plan
  detnn::data::PrefetchOptions prefetch;
  std::string description;
  int64_t classes = 0;
};

struct detnn_loader {
  std::unique_ptr<detnn::data::Prefetcher> prefetcher;
  int64_t batch_size = 0, sample_size = 0;
};

using detnn::c_api_detail::guarded;
using detnn::c_api_detail::require;

extern "C" {

detnn_status detnn_data_load(const detnn_model* model, detnn_data** out) {
  return guarded([&] {
    require(model, "detnn_data_load", "model");
    require(out, "detnn_data_load", "out");
    *out = nullptr;
    const detnn::ModelSpec& spec = model->spec;
    DETNN_CHECK(spec.data.has_value(), invalid_argument, spec.source.string(),
                ": the model file has no \"data\" section to load");
    auto d = std::make_unique<detnn_data>();
    d->loaded = detnn::data::load_data(*spec.data);
    const detnn::data::Dataset& train = *d->loaded.train;
    DETNN_CHECK(train.channels == spec.input.c && train.height == spec.input.h && train.width == spec.input.w,
                invalid_argument, "data: the training samples are ", train.channels, "x", train.height, "x",
                train.width, " but the model's input is ", spec.input.to_string());
    DETNN_CHECK(train.classes <= spec.output.c, invalid_argument, "data: the labels go up to ", train.classes - 1,
                " but the network outputs ", spec.output.c, " class scores");
    d->augment = spec.data->augment;
    d->eval_augment = spec.data->augment;
    d->eval_augment.crop_padding = 0;
    d->eval_augment.horizontal_flip = false;
    d->prefetch.threads = spec.data->prefetch_threads;
    d->prefetch.depth = spec.data->prefetch_depth;
    d->classes = spec.output.c;
    d->description = train.description;
    d->batch_size = spec.training.batch_size;
    if (static_cast<int64_t>(d->loaded.train_indices.size()) >= spec.training.batch_size)
      d->plan = std::make_unique<detnn::data::BatchPlan>(train, d->loaded.train_indices, d->augment,
                                                         spec.training.seed, spec.training.batch_size);
    *out = d.release();
  });
}

void detnn_data_destroy(detnn_data* data) { delete data; }

detnn_status detnn_data_get_info(const detnn_data* data, detnn_data_info* out) {
  return guarded([&] {
    require(data, "detnn_data_get_info", "data");
    require(out, "detnn_data_get_info", "out");
    out->train_samples = static_cast<int64_t>(data->loaded.train_indices.size());
    out->validation_samples = static_cast<int64_t>(data->loaded.validation_indices.size());
    out->sample_size = data->loaded.train->sample_size();
    out->classes = data->classes;
    out->batch_size = data->batch_size;
    out->batches_per_epoch = data->plan ? data->plan->batches_per_epoch() : 0;
  });
}

detnn_status detnn_data_fingerprint(const detnn_data* data, char out[65]) {
  return guarded([&] {
    require(data, "detnn_data_fingerprint", "data");
    require(out, "detnn_data_fingerprint", "out");
    std::snprintf(out, 65, "%s", data->loaded.fingerprint.c_str());
  });
}

detnn_status detnn_data_description(const detnn_data* data, const char** out) {
  return guarded([&] {
    require(data, "detnn_data_description", "data");
    require(out, "detnn_data_description", "out");
    *out = data->description.c_str();
  });
}

detnn_status detnn_data_validation_batch(const detnn_data* data, int64_t first, int64_t n, float* images,
                                         int32_t* labels) {
  return guarded([&] {
    require(data, "detnn_data_validation_batch", "data");
    const auto& idx = data->loaded.validation_indices;
    DETNN_CHECK(first >= 0 && n >= 0 && first + n <= static_cast<int64_t>(idx.size()), invalid_argument,
                "detnn_data_validation_batch: samples [", first, ", ", first + n, ") outside the ", idx.size(),
                " validation samples");
    if (n == 0) return;
    require(images, "detnn_data_validation_batch", "images");
    require(labels, "detnn_data_validation_batch", "labels");
    const detnn::data::Dataset& v = *data->loaded.validation;
    const int64_t s = v.sample_size();
    for (int64_t i = 0; i < n; ++i) {
      detnn::data::normalized_sample(v, idx[first + i], data->eval_augment, images + i * s);
      labels[i] = v.labels[idx[first + i]];
    }
  });
}

detnn_status detnn_loader_create(const detnn_data* data, int64_t start_epoch, int64_t start_batch, int64_t end_epoch,
                                 detnn_loader** out) {
  return guarded([&] {
    require(data, "detnn_loader_create", "data");
    require(out, "detnn_loader_create", "out");
    *out = nullptr;
    DETNN_CHECK(data->plan != nullptr, invalid_argument, "detnn_loader_create: the training set has ",
                data->loaded.train_indices.size(), " samples, fewer than one batch of ", data->batch_size);
    DETNN_CHECK(start_epoch >= 0 && start_batch >= 0 && start_batch <= data->plan->batches_per_epoch(),
                invalid_argument, "detnn_loader_create: no batch ", start_batch, " in epoch ", start_epoch);
    auto l = std::make_unique<detnn_loader>();
    // A resume point at the end of an epoch is the start of the next one.
    if (start_batch == data->plan->batches_per_epoch()) ++start_epoch, start_batch = 0;
    l->prefetcher = std::make_unique<detnn::data::Prefetcher>(*data->plan, start_epoch, start_batch,
                                                              std::max(end_epoch, start_epoch), data->prefetch);
    l->batch_size = data->plan->batch_size();
    l->sample_size = data->loaded.train->sample_size();
    *out = l.release();
  });
}

detnn_status detnn_loader_next(detnn_loader* loader, float* images, int32_t* labels, int64_t* epoch,
                               int64_t* batch_index, int* done) {
  return guarded([&] {
    require(loader, "detnn_loader_next", "loader");
    require(done, "detnn_loader_next", "done");
    std::optional<detnn::data::Batch> b = loader->prefetcher->next();
    *done = b.has_value() ? 0 : 1;
    if (!b) return;
    require(images, "detnn_loader_next", "images");
    require(labels, "detnn_loader_next", "labels");
    std::memcpy(images, b->images.data(), b->images.size() * sizeof(float));
    std::memcpy(labels, b->labels.data(), b->labels.size() * sizeof(int32_t));
    if (epoch != nullptr) *epoch = b->epoch;
    if (batch_index != nullptr) *batch_index = b->index_in_epoch;
  });
}

void detnn_loader_destroy(detnn_loader* loader) { delete loader; }

}  // extern "C"

extern "C" detnn_status detnn_session_save_parameters(detnn_session* session, const char* path) {
  return guarded([&] {
    require(session, "detnn_session_save_parameters", "session");
    require(path, "detnn_session_save_parameters", "path");
    const std::vector<detnn::NamedTensor> state = session->session->state_tensors();
    std::vector<detnn::SafetensorsTensorView> views;
    for (const auto& e : session->session->parameters())
      for (const detnn::NamedTensor& t : state)
        if (t.name == e.name) views.push_back({t.name, detnn::DType::f32, t.shape, t.values.data()});
    detnn::write_safetensors(path, views, {{"format", "detnn-weights-v1"}});
  });
}
