// The "data" section: parsing, its errors (each naming the JSON path), to_json round trips,
// and load_data on the bundled MNIST digits and on files written here.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/data_spec.h"
#include "runtime/io/sha256.h"
#include "support/data_test_util.h"

namespace detnn::data {
namespace {

using nlohmann::json;

std::string spec_error(const json& j, ErrorCode code) {
  return test::error_message([&] { parse_data_spec(j, "data", "/models"); }, code);
}

TEST(DataSpec, ParsesEveryFieldAndResolvesPaths) {
  const json j = json::parse(R"({
    "format": "idx",
    "train": {"images": "mnist/img.gz", "labels": "/abs/lab.gz"},
    "validation": {"count": 1000, "seed": 3},
    "classes": 10,
    "normalize": {"mean": [0.1307], "std": [0.3081]},
    "augment": {"random_crop_padding": 2, "horizontal_flip": true},
    "prefetch_threads": 3
  })");
  const DataSpec s = parse_data_spec(j, "data", "/models/cnn");
  EXPECT_EQ(s.format, DataFormat::idx);
  EXPECT_EQ(s.train.images, "/models/cnn/mnist/img.gz");
  EXPECT_EQ(s.train.labels, "/abs/lab.gz");
  EXPECT_EQ(s.validation_count, 1000);
  EXPECT_EQ(s.validation_seed, 3u);
  EXPECT_FALSE(s.separate_validation);
  EXPECT_EQ(s.classes, 10);
  EXPECT_EQ(s.augment.mean, std::vector<float>{0.1307f});
  EXPECT_EQ(s.augment.std, std::vector<float>{0.3081f});
  EXPECT_EQ(s.augment.crop_padding, 2);
  EXPECT_TRUE(s.augment.horizontal_flip);
  EXPECT_EQ(s.prefetch_threads, 3);
  EXPECT_EQ(s.prefetch_depth, 4);

  // to_json writes every default, and reads back to the same spec.
  const json out = to_json(s);
  EXPECT_EQ(out["prefetch_depth"], 4);
  EXPECT_EQ(out["train"]["images"], "/models/cnn/mnist/img.gz");
  EXPECT_EQ(to_json(parse_data_spec(out, "data", "/elsewhere")), out);

  const DataSpec m = parse_data_spec(json::parse(R"({"format": "synthetic", "train": {"count": 64}})"), "data", "/");
  const json mj = to_json(m);
  EXPECT_EQ(mj["train"], json::parse(R"({"count": 64, "seed": 0, "shape": [1, 28, 28]})"));
  EXPECT_EQ(mj["validation"], json::parse(R"({"count": 0, "seed": 0})"));
  EXPECT_TRUE(mj["classes"].is_null());
  EXPECT_EQ(mj["normalize"], json::parse(R"({"mean": [], "std": []})"));
  EXPECT_EQ(mj["augment"], json::parse(R"({"random_crop_padding": 0, "horizontal_flip": false})"));
  EXPECT_EQ(mj["prefetch_threads"], 2);
  EXPECT_EQ(to_json(parse_data_spec(mj, "data", "/")), mj);

  const DataSpec c = parse_data_spec(
      json::parse(R"({"format": "cifar10", "train": {"files": ["a.bin", "b.bin"]}, "validation": {"files": ["t.bin"]}})"),
      "data", "/d");
  EXPECT_EQ(c.train.files, (std::vector<std::filesystem::path>{"/d/a.bin", "/d/b.bin"}));
  EXPECT_TRUE(c.separate_validation);
  EXPECT_EQ(c.validation.files, std::vector<std::filesystem::path>{"/d/t.bin"});
}

TEST(DataSpec, ErrorsNameTheJsonPath) {
  const json base = json::parse(R"({"format": "idx", "train": {"images": "i", "labels": "l"}})");
  auto with = [&](const char* key, const json& value) {
    json j = base;
    j[key] = value;
    return j;
  };
  struct Case {
    json j;
    ErrorCode code;
    std::string message;
  };
  const Case cases[] = {
      {with("normalize", json::parse(R"({"mean": [0.5], "std": [0]})")), ErrorCode::invalid_argument,
       "data.normalize.std[0]: expected a positive number, got 0"},
      {with("normalize", json::parse(R"({"mean": ["a"], "std": [1]})")), ErrorCode::format,
       "data.normalize.mean[0]: expected a finite number, got \"a\""},
      {with("normalize", json::parse(R"({"mean": [0.5, 0.5], "std": [1]})")), ErrorCode::invalid_argument,
       "data.normalize.std: expected 2 values (as many as mean), got 1"},
      {with("normalize", json::parse(R"({"mean": [0.5]})")), ErrorCode::format, "data.normalize.std: missing (required)"},
      {with("format", "png"), ErrorCode::format, "data.format: expected one of \"idx\""},
      {with("shuffle", true), ErrorCode::format, "data.shuffle: unknown key (expected one of format, train,"},
      {with("classes", 0), ErrorCode::invalid_argument, "data.classes: expected a positive integer, got 0"},
      {with("classes", 2.5), ErrorCode::format, "data.classes: expected a positive integer, got 2.5"},
      {with("augment", json::parse(R"({"flip": true})")), ErrorCode::format,
       "data.augment.flip: unknown key (expected one of random_crop_padding, horizontal_flip)"},
      {with("augment", json::parse(R"({"horizontal_flip": 1})")), ErrorCode::format,
       "data.augment.horizontal_flip: expected true or false, got 1"},
      {with("augment", json::parse(R"({"random_crop_padding": -1})")), ErrorCode::invalid_argument,
       "data.augment.random_crop_padding: expected an integer in [0, 65535], got -1"},
      {with("prefetch_threads", 0), ErrorCode::invalid_argument, "data.prefetch_threads: expected an integer in [1, 256], got 0"},
      {with("validation", json::parse(R"({"count": -5})")), ErrorCode::invalid_argument,
       "data.validation.count: expected a non-negative sample count, got -5"},
      {with("validation", json::parse(R"({"count": 5, "seed": -1})")), ErrorCode::invalid_argument,
       "data.validation.seed: expected a non-negative integer seed, got -1"},
      {with("validation", json::parse(R"({"images": "x"})")), ErrorCode::format, "data.validation.labels: missing (required)"},
      {with("train", json::parse(R"({"images": 3, "labels": "l"})")), ErrorCode::format,
       "data.train.images: expected a file or folder path, got 3"},
      {with("train", json::parse(R"({"dir": "x"})")), ErrorCode::format, "data.train.dir: unknown key (expected one of images, labels)"},
      {json::parse(R"({"format": "cifar10", "train": {"files": []}})"), ErrorCode::invalid_argument,
       "data.train.files: expected at least one file, got []"},
      {json::parse(R"({"format": "synthetic", "train": {"count": 8, "shape": [1, 0, 4]}})"), ErrorCode::invalid_argument,
       "data.train.shape[1]: expected an integer in [1, 4096], got 0"},
      {json::parse(R"({"format": "idx"})"), ErrorCode::format, "data.train: missing (required)"},
      {json::parse("[1]"), ErrorCode::format, "data: expected an object, got [1]"},
  };
  for (const Case& c : cases) {
    const std::string m = spec_error(c.j, c.code);
    EXPECT_EQ(m.rfind(c.message, 0), 0u) << "expected '" << c.message << "' at the start of: " << m;
  }
}

TEST(DataSpec, LoadsBundledMnistWithSplit) {
  const json j = json::parse(R"({"format": "idx",
    "train": {"images": "mnist-10k/images-idx3-ubyte.gz", "labels": "mnist-10k/labels-idx1-ubyte.gz"},
    "validation": {"count": 1000}, "normalize": {"mean": [0.1307], "std": [0.3081]}})");
  const LoadedData a = load_data(parse_data_spec(j, "data", DETNN_SOURCE_DIR "/data"));
  EXPECT_EQ(a.train.get(), a.validation.get());
  EXPECT_EQ(a.train->count, 10000);
  EXPECT_EQ(a.train_indices.size(), 9000u);
  EXPECT_EQ(a.validation_indices.size(), 1000u);
  const std::string text = "detnn-data-v1\ntrain " + a.train->fingerprint + "\nvalidation split 1000 seed 0\n";
  EXPECT_EQ(a.fingerprint, sha256_hex(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));

  json three = j;
  three["normalize"] = json::parse(R"({"mean": [0.5, 0.5, 0.5], "std": [1, 1, 1]})");
  const std::string m = test::error_message([&] { load_data(parse_data_spec(three, "data", DETNN_SOURCE_DIR "/data")); },
                                            ErrorCode::invalid_argument);
  EXPECT_EQ(m.rfind("data.normalize.mean: 3 values for the 1 channels of idx:", 0), 0u) << m;
}

TEST(DataSpec, LoadsSeparateValidationAndChecksIt) {
  test::TempDir dir;
  test::write_file(dir / "tr_x.npy", test::npy_bytes("|u1", "(3, 2, 2)", test::Bytes(12, 9)));
  test::write_file(dir / "tr_y.npy", test::npy_bytes("|u1", "(3,)", {0, 1, 1}));
  test::write_file(dir / "va_x.npy", test::npy_bytes("|u1", "(2, 2, 2)", test::Bytes(8, 4)));
  test::write_file(dir / "va_y.npy", test::npy_bytes("|u1", "(2,)", {3, 0}));
  json j = json::parse(R"({"format": "npy", "train": {"images": "tr_x.npy", "labels": "tr_y.npy"},
                           "validation": {"images": "va_x.npy", "labels": "va_y.npy"}})");
  const LoadedData d = load_data(parse_data_spec(j, "model.data", dir.path()));
  EXPECT_NE(d.train.get(), d.validation.get());
  EXPECT_EQ(d.train->classes, 4);  // the larger of the two sets' label ranges
  EXPECT_EQ(d.validation->classes, 4);
  EXPECT_EQ(d.train_indices, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(d.validation_indices, (std::vector<int64_t>{0, 1}));

  test::write_file(dir / "va_x.npy", test::npy_bytes("|u1", "(2, 1, 4)", test::Bytes(8, 4)));
  EXPECT_EQ(test::error_message([&] { load_data(parse_data_spec(j, "model.data", dir.path())); }, ErrorCode::format)
                .rfind("model.data.validation: samples are 1x1x4", 0),
            0u);
  j["validation"] = json::parse(R"({"count": 3})");
  EXPECT_EQ(test::error_message([&] { load_data(parse_data_spec(j, "model.data", dir.path())); },
                                ErrorCode::invalid_argument)
                .rfind("model.data.validation.count: 3 leaves no training samples", 0),
            0u);
}

}  // namespace
}  // namespace detnn::data
