// The C API's data and loader functions (detnn_data_*, detnn_loader_*) on the bundled MNIST
// subset (data/mnist-10k) and on synthetic data, checked against the C++ readers and the
// documented batch rule (docs/data-format.md), not against the classes the C API wraps:
//  - the counts (split, batches per epoch), the sample size and the classes are the true ones;
//  - every training batch is positions [b*B, (b+1)*B) of epoch_permutation(train indices, seed,
//    e), each sample augmented by (seed, epoch, index), bit for bit, with the labels the reader
//    read; the batches come in order, then `done`; a loader started at a resume point gives the
//    same batches as the one that ran there; validation batches are the validation samples,
//    normalized only; the fingerprint is the documented SHA-256;
//  - bad arguments give an error status and a detnn_last_error() naming the fault.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/readers.h"
#include "data/sampling.h"
#include "runtime/io/sha256.h"
#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

const std::string kMnist = DETNN_SOURCE_DIR "/data/mnist-10k/";
constexpr uint64_t kSeed = 31;
constexpr int64_t kBatch = 500, kValidation = 1000;

std::string mnist_model_json(const std::string& extra_data = "") {
  return R"({"name": "mnist-linear", "input": [1, 28, 28],
    "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 10}],
    "optimizer": {"type": "sgd", "lr": 0.1},
    "data": {"format": "idx", "train": {"images": ")" + kMnist + R"(images-idx3-ubyte.gz", "labels": ")" +
         kMnist + R"(labels-idx1-ubyte.gz"}, "validation": {"count": 1000, "seed": 4}, "classes": 10,
      "normalize": {"mean": [0.1307], "std": [0.3081]},
      "augment": {"random_crop_padding": 2, "horizontal_flip": true})" + extra_data + R"(},
    "training": {"batch_size": 500, "chunk_size": 100, "seed": 31}})";
}

struct DataDeleter {
  void operator()(detnn_data* p) const { detnn_data_destroy(p); }
};
struct LoaderDeleter {
  void operator()(detnn_loader* p) const { detnn_loader_destroy(p); }
};
using DataPtr = std::unique_ptr<detnn_data, DataDeleter>;
using LoaderPtr = std::unique_ptr<detnn_loader, LoaderDeleter>;

DataPtr load(const std::string& json) {
  const ModelPtr model = make_model(json);
  detnn_data* d = nullptr;
  const detnn_status st = detnn_data_load(model.get(), &d);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return DataPtr(d);
}

LoaderPtr loader(const detnn_data* d, int64_t start_epoch, int64_t start_batch, int64_t end_epoch) {
  detnn_loader* l = nullptr;
  const detnn_status st = detnn_loader_create(d, start_epoch, start_batch, end_epoch, &l);
  EXPECT_EQ(st, DETNN_OK) << describe(st);
  return LoaderPtr(l);
}

// The reference: MNIST as the C++ IDX reader reads it, split as documented.
struct Reference {
  data::Dataset set = data::read_idx(kMnist + "images-idx3-ubyte.gz", kMnist + "labels-idx1-ubyte.gz", 10);
  data::SplitIndices split = data::split_train_validation(set, kValidation, 4);
  data::AugmentSpec augment{2, true, {0.1307f}, {0.3081f}};

  // Batch b of epoch e by the documented rule.
  void batch(int64_t e, int64_t b, std::vector<float>& images, std::vector<int32_t>& labels) const {
    const std::vector<int64_t> order = data::epoch_permutation(split.train, kSeed, e);
    const int64_t s = set.sample_size();
    images.assign(static_cast<size_t>(kBatch * s), 0.0f);
    labels.assign(static_cast<size_t>(kBatch), -1);
    for (int64_t i = 0; i < kBatch; ++i) {
      const int64_t index = order[static_cast<size_t>(b * kBatch + i)];
      data::augmented_sample(set, index, augment, kSeed, e, images.data() + i * s);
      labels[static_cast<size_t>(i)] = set.labels[static_cast<size_t>(index)];
    }
  }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(CApiData, MnistCountsFingerprintAndValidationMatchTheReader) {
  const Reference ref;
  const DataPtr d = load(mnist_model_json());
  ASSERT_TRUE(d);
  detnn_data_info info{};
  ASSERT_EQ(detnn_data_get_info(d.get(), &info), DETNN_OK) << detnn_last_error();
  EXPECT_EQ(info.train_samples, 9000);
  EXPECT_EQ(info.validation_samples, kValidation);
  EXPECT_EQ(info.sample_size, 28 * 28);
  EXPECT_EQ(info.classes, 10);
  EXPECT_EQ(info.batch_size, kBatch);
  EXPECT_EQ(info.batches_per_epoch, 9000 / kBatch);
  EXPECT_EQ(ref.set.count, 10000);

  // detnn-data-v1, the reader's fingerprint, and the split's count and seed.
  char fingerprint[65] = {0};
  ASSERT_EQ(detnn_data_fingerprint(d.get(), fingerprint), DETNN_OK);
  const std::string text = "detnn-data-v1\ntrain " + ref.set.fingerprint + "\nvalidation split 1000 seed 4\n";
  EXPECT_EQ(fingerprint, sha256_hex(std::vector<uint8_t>(text.begin(), text.end())));
  const char* description = nullptr;
  ASSERT_EQ(detnn_data_description(d.get(), &description), DETNN_OK);
  EXPECT_NE(std::string(description).find("images-idx3-ubyte.gz"), std::string::npos) << description;

  // The validation set: the split's samples in order, normalized only, with the reader's labels.
  const int64_t s = info.sample_size, first = 990, n = 10;
  std::vector<float> images(static_cast<size_t>(n * s)), want(static_cast<size_t>(n * s));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  ASSERT_EQ(detnn_data_validation_batch(d.get(), first, n, images.data(), labels.data()), DETNN_OK)
      << detnn_last_error();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = ref.split.validation[static_cast<size_t>(first + i)];
    data::normalized_sample(ref.set, index, ref.augment, want.data() + i * s);
    EXPECT_EQ(labels[static_cast<size_t>(i)], ref.set.labels[static_cast<size_t>(index)]) << i;
  }
  EXPECT_TRUE(same_bits(images, want));
  // The pixels really are (u / 255 - mean) / std.
  const int64_t v0 = ref.split.validation[static_cast<size_t>(first)];
  for (int64_t p = 0; p < s; ++p)
    ASSERT_EQ(want[static_cast<size_t>(p)], (ref.set.pixels_u8[static_cast<size_t>(v0 * s + p)] / 255.0f - 0.1307f) / 0.3081f);
}

TEST(CApiData, LoaderBatchesFollowTheDocumentedShuffleAndAugmentation) {
  const Reference ref;
  const DataPtr d = load(mnist_model_json());
  ASSERT_TRUE(d);
  const int64_t s = 28 * 28, bpe = 9000 / kBatch;
  // Epochs 0 and 1 in full: every batch in order, then done.
  const LoaderPtr l = loader(d.get(), 0, 0, 2);
  std::vector<float> images(static_cast<size_t>(kBatch * s)), want_images;
  std::vector<int32_t> labels(static_cast<size_t>(kBatch)), want_labels;
  std::vector<std::vector<float>> epoch1;
  for (int64_t e = 0; e < 2; ++e)
    for (int64_t b = 0; b < bpe; ++b) {
      int64_t epoch = -1, index = -1;
      int done = -1;
      ASSERT_EQ(detnn_loader_next(l.get(), images.data(), labels.data(), &epoch, &index, &done), DETNN_OK)
          << detnn_last_error();
      ASSERT_EQ(done, 0);
      ASSERT_EQ(epoch, e);
      ASSERT_EQ(index, b);
      if (b < 2 || b == bpe - 1) {  // the reference recomputes a permutation per batch: a few suffice
        ref.batch(e, b, want_images, want_labels);
        EXPECT_TRUE(same_bits(images, want_images)) << "epoch " << e << " batch " << b;
        EXPECT_EQ(labels, want_labels) << "epoch " << e << " batch " << b;
      }
      if (e == 1) epoch1.push_back(images);
    }
  int done = 0;
  EXPECT_EQ(detnn_loader_next(l.get(), images.data(), labels.data(), nullptr, nullptr, &done), DETNN_OK);
  EXPECT_EQ(done, 1);
  EXPECT_EQ(detnn_loader_next(l.get(), nullptr, nullptr, nullptr, nullptr, &done), DETNN_OK);  // and stays done
  EXPECT_EQ(done, 1);
  EXPECT_FALSE(same_bits(epoch1[0], [&] {
    ref.batch(0, 0, want_images, want_labels);
    return want_images;
  }()));  // epoch 1 is another shuffle

  // Resume points: mid-epoch, and the end of epoch 0 (= the start of epoch 1).
  for (const auto& [start_epoch, start_batch] : std::vector<std::pair<int64_t, int64_t>>{{1, 7}, {0, bpe}}) {
    const LoaderPtr r = loader(d.get(), start_epoch, start_batch, 2);
    const int64_t first = start_batch == bpe ? 0 : start_batch;
    for (int64_t b = first; b < bpe; ++b) {
      int64_t epoch = -1, index = -1;
      ASSERT_EQ(detnn_loader_next(r.get(), images.data(), labels.data(), &epoch, &index, &done), DETNN_OK);
      ASSERT_EQ(done, 0);
      EXPECT_EQ(epoch, 1);
      EXPECT_EQ(index, b);
      EXPECT_TRUE(same_bits(images, epoch1[static_cast<size_t>(b)])) << "resumed at " << start_epoch << ":" << start_batch;
    }
    ASSERT_EQ(detnn_loader_next(r.get(), images.data(), labels.data(), nullptr, nullptr, &done), DETNN_OK);
    EXPECT_EQ(done, 1);
  }
}

TEST(CApiData, SyntheticDataMatchesMakeSynthetic) {
  const std::string json = R"({"input": [3, 5, 6], "layers": [{"type": "flatten"}, {"type": "linear", "out_features": 7}],
    "optimizer": {"type": "sgd", "lr": 0.1},
    "data": {"format": "synthetic", "train": {"count": 100, "seed": 9, "shape": [3, 5, 6]}, "classes": 7,
             "validation": {"count": 30}, "prefetch_threads": 3},
    "training": {"batch_size": 16, "chunk_size": 8, "seed": 2}})";
  const DataPtr d = load(json);
  ASSERT_TRUE(d);
  detnn_data_info info{};
  ASSERT_EQ(detnn_data_get_info(d.get(), &info), DETNN_OK);
  EXPECT_EQ(info.train_samples, 70);
  EXPECT_EQ(info.validation_samples, 30);
  EXPECT_EQ(info.sample_size, 90);
  EXPECT_EQ(info.classes, 7);
  EXPECT_EQ(info.batches_per_epoch, 4);  // 70 / 16: the 6 left over are left out
  data::SyntheticSpec spec;
  spec.count = 100, spec.classes = 7, spec.channels = 3, spec.height = 5, spec.width = 6, spec.seed = 9;
  const data::Dataset set = data::make_synthetic(spec);
  const data::SplitIndices split = data::split_train_validation(set, 30, 0);
  // Epoch 0's batches hold the first 64 positions of its permutation, as make_synthetic made them.
  const std::vector<int64_t> order = data::epoch_permutation(split.train, 2, 0);
  const LoaderPtr l = loader(d.get(), 0, 0, 1);
  std::vector<float> images(16 * 90), want(90);
  std::vector<int32_t> labels(16);
  for (int64_t b = 0; b < 4; ++b) {
    int done = -1;
    ASSERT_EQ(detnn_loader_next(l.get(), images.data(), labels.data(), nullptr, nullptr, &done), DETNN_OK);
    ASSERT_EQ(done, 0);
    for (int64_t i = 0; i < 16; ++i) {
      const int64_t index = order[static_cast<size_t>(b * 16 + i)];
      set.sample_to_float(index, want.data());
      EXPECT_EQ(std::memcmp(images.data() + i * 90, want.data(), 90 * sizeof(float)), 0) << b << " " << i;
      EXPECT_EQ(labels[static_cast<size_t>(i)], set.labels[static_cast<size_t>(index)]);
    }
  }
  int done = 0;
  ASSERT_EQ(detnn_loader_next(l.get(), images.data(), labels.data(), nullptr, nullptr, &done), DETNN_OK);
  EXPECT_EQ(done, 1);
}

// Runs `call`, which must fail with `status` and a message containing `expected`.
template <class Call>
void expect_status(Call call, detnn_status status, const std::string& expected) {
  const detnn_status st = call();
  EXPECT_EQ(st, status) << detnn_status_string(st) << ": " << detnn_last_error();
  EXPECT_NE(std::string(detnn_last_error()).find(expected), std::string::npos)
      << "expected \"" << expected << "\" in: " << detnn_last_error();
}

TEST(CApiData, BadArgumentsAreErrorsNamingTheFault) {
  detnn_data* out = nullptr;
  expect_status([&] { return detnn_data_load(nullptr, &out); }, DETNN_ERROR_INVALID_ARGUMENT,
                "detnn_data_load: model is NULL");
  const ModelPtr no_data = make_model(model_json());
  expect_status([&] { return detnn_data_load(no_data.get(), &out); }, DETNN_ERROR_INVALID_ARGUMENT,
                "has no \"data\" section");
  expect_status([&] { return detnn_data_load(no_data.get(), nullptr); }, DETNN_ERROR_INVALID_ARGUMENT, "out is NULL");
  // Samples that do not fit the model's input, labels beyond its classes, a file that is not there.
  std::string small_input = mnist_model_json();
  small_input.replace(small_input.find("[1, 28, 28]"), 11, "[1, 27, 28]");
  expect_status([&] { return detnn_data_load(make_model(small_input).get(), &out); }, DETNN_ERROR_INVALID_ARGUMENT,
                "the training samples are 1x28x28 but the model's input is 1x27x28");
  std::string few_classes = mnist_model_json();
  few_classes.replace(few_classes.find("\"out_features\": 10"), 18, "\"out_features\": 8");
  few_classes.replace(few_classes.find("\"classes\": 10"), 13, "\"classes\": null");
  expect_status([&] { return detnn_data_load(make_model(few_classes).get(), &out); }, DETNN_ERROR_INVALID_ARGUMENT,
                "the labels go up to 9 but the network outputs 8 class scores");
  std::string missing = mnist_model_json();
  missing.replace(missing.find("labels-idx1-ubyte.gz"), 20, "no-such-labels.gz");
  expect_status([&] { return detnn_data_load(make_model(missing).get(), &out); }, DETNN_ERROR_IO, "no-such-labels.gz");
  EXPECT_EQ(out, nullptr);

  const DataPtr d = load(mnist_model_json());
  ASSERT_TRUE(d);
  detnn_data_info info{};
  expect_status([&] { return detnn_data_get_info(nullptr, &info); }, DETNN_ERROR_INVALID_ARGUMENT,
                "detnn_data_get_info: data is NULL");
  expect_status([&] { return detnn_data_get_info(d.get(), nullptr); }, DETNN_ERROR_INVALID_ARGUMENT, "out is NULL");
  expect_status([&] { return detnn_data_fingerprint(d.get(), nullptr); }, DETNN_ERROR_INVALID_ARGUMENT, "out is NULL");
  const char* text = nullptr;
  expect_status([&] { return detnn_data_description(nullptr, &text); }, DETNN_ERROR_INVALID_ARGUMENT, "data is NULL");
  std::vector<float> images(10 * 784);
  std::vector<int32_t> labels(10);
  expect_status([&] { return detnn_data_validation_batch(d.get(), 995, 10, images.data(), labels.data()); },
                DETNN_ERROR_INVALID_ARGUMENT, "samples [995, 1005) outside the 1000 validation samples");
  expect_status([&] { return detnn_data_validation_batch(d.get(), -1, 1, images.data(), labels.data()); },
                DETNN_ERROR_INVALID_ARGUMENT, "outside the 1000 validation samples");
  expect_status([&] { return detnn_data_validation_batch(d.get(), 0, 1, nullptr, labels.data()); },
                DETNN_ERROR_INVALID_ARGUMENT, "images is NULL");
  EXPECT_EQ(detnn_data_validation_batch(d.get(), 1000, 0, nullptr, nullptr), DETNN_OK) << detnn_last_error();

  detnn_loader* l = nullptr;
  expect_status([&] { return detnn_loader_create(d.get(), 0, 19, 1, &l); }, DETNN_ERROR_INVALID_ARGUMENT,
                "detnn_loader_create: no batch 19 in epoch 0");
  expect_status([&] { return detnn_loader_create(d.get(), -1, 0, 1, &l); }, DETNN_ERROR_INVALID_ARGUMENT,
                "no batch 0 in epoch -1");
  expect_status([&] { return detnn_loader_create(nullptr, 0, 0, 1, &l); }, DETNN_ERROR_INVALID_ARGUMENT,
                "detnn_loader_create: data is NULL");
  EXPECT_EQ(l, nullptr);
  const LoaderPtr ok = loader(d.get(), 0, 0, 1);
  int done = 0;
  expect_status([&] { return detnn_loader_next(ok.get(), images.data(), labels.data(), nullptr, nullptr, nullptr); },
                DETNN_ERROR_INVALID_ARGUMENT, "detnn_loader_next: done is NULL");
  expect_status([&] { return detnn_loader_next(nullptr, images.data(), labels.data(), nullptr, nullptr, &done); },
                DETNN_ERROR_INVALID_ARGUMENT, "detnn_loader_next: loader is NULL");

  // A training set smaller than one batch: the data loads, a loader cannot be made.
  std::string big_batch = mnist_model_json();
  big_batch.replace(big_batch.find("\"batch_size\": 500"), 17, "\"batch_size\": 10000");
  const DataPtr too_small = load(big_batch);
  ASSERT_TRUE(too_small);
  ASSERT_EQ(detnn_data_get_info(too_small.get(), &info), DETNN_OK);
  EXPECT_EQ(info.batches_per_epoch, 0);
  expect_status([&] { return detnn_loader_create(too_small.get(), 0, 0, 1, &l); }, DETNN_ERROR_INVALID_ARGUMENT,
                "the training set has 9000 samples, fewer than one batch");
}

}  // namespace
}  // namespace detnn::capi_test
