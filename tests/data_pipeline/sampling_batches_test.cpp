// Split, epoch shuffle, augmentation, batches and the prefetcher: pure functions of their
// keys, whatever the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "data/batches.h"
#include "data/prefetcher.h"
#include "data/readers.h"
#include "data/sampling.h"
#include "runtime/philox.h"
#include "support/data_test_util.h"
#include "support/test_util.h"

namespace detnn::data {
namespace {

Dataset small_synthetic(int64_t count, int64_t channels = 3, int64_t side = 8) {
  SyntheticSpec s;
  s.count = count;
  s.classes = 5;
  s.channels = channels;
  s.height = s.width = side;
  s.seed = 3;
  return make_synthetic(s);
}

TEST(DataSplit, PureExactAndComplete) {
  const Dataset d = small_synthetic(1000, 1, 4);
  const SplitIndices a = split_train_validation(d, 137, 11), b = split_train_validation(d, 137, 11);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.validation, b.validation);
  EXPECT_EQ(a.validation.size(), 137u);
  EXPECT_EQ(a.train.size(), 863u);
  EXPECT_TRUE(std::is_sorted(a.train.begin(), a.train.end()));
  EXPECT_TRUE(std::is_sorted(a.validation.begin(), a.validation.end()));
  std::vector<int64_t> all = a.train;
  all.insert(all.end(), a.validation.begin(), a.validation.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expected(1000);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
  EXPECT_NE(split_train_validation(d, 137, 12).validation, a.validation);
  // The rule itself: validation = the 137 smallest (key, index).
  const PhiloxKey key = philox_stream_key(11, RandomPurpose::data_split);
  std::vector<std::pair<uint32_t, int64_t>> keyed;
  for (int64_t i = 0; i < 1000; ++i) keyed.push_back({random_bits(key, static_cast<uint64_t>(i), 0, 0), i});
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> want;
  for (int k = 0; k < 137; ++k) want.push_back(keyed[static_cast<size_t>(k)].second);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(a.validation, want);
  EXPECT_EQ(split_train_validation(d, 0, 1).train.size(), 1000u);
  EXPECT_EQ(split_train_validation(d, 1000, 1).validation.size(), 1000u);
  EXPECT_THROW(split_train_validation(d, 1001, 1), Error);
}

TEST(DataShuffle, PurePermutation) {
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < 500; ++i) idx.push_back(i * 3 + 1);
  const std::vector<int64_t> p0 = epoch_permutation(idx, 5, 0);
  EXPECT_EQ(p0, epoch_permutation(idx, 5, 0));
  EXPECT_NE(p0, epoch_permutation(idx, 5, 1));
  EXPECT_NE(p0, epoch_permutation(idx, 6, 0));
  EXPECT_NE(p0, idx);
  std::vector<int64_t> sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, idx);
  // A sample's key depends on its dataset index, not its position in the list.
  std::vector<int64_t> reversed(idx.rbegin(), idx.rend());
  EXPECT_EQ(epoch_permutation(reversed, 5, 0), p0);
  EXPECT_THROW(epoch_permutation(idx, 5, -1), Error);
}

TEST(DataAugment, ReproducibleChangesImagesAndNormalizes) {
  const Dataset d = small_synthetic(64);
  AugmentSpec spec;
  spec.crop_padding = 2;
  spec.horizontal_flip = true;
  const int64_t n = d.sample_size();
  std::vector<float> plain(static_cast<size_t>(n)), a(plain.size()), b(plain.size());
  int changed = 0;
  for (int64_t i = 0; i < d.count; ++i) {
    d.sample_to_float(i, plain.data());
    augmented_sample(d, i, spec, 9, 4, a.data());
    augmented_sample(d, i, spec, 9, 4, b.data());
    ASSERT_EQ(detnn::test::first_bit_difference(a.data(), b.data(), a.size()), -1);
    changed += a != plain;
    // Recompute from the documented draws.
    const PhiloxKey key = philox_stream_key(9, RandomPurpose::augmentation);
    const int64_t dy = static_cast<int64_t>((random_bits(key, static_cast<uint64_t>(i), 4, 0) >> 8) % 5) - 2;
    const int64_t dx = static_cast<int64_t>((random_bits(key, static_cast<uint64_t>(i), 4, 1) >> 8) % 5) - 2;
    const bool flip = (random_bits(key, static_cast<uint64_t>(i), 4, 2) >> 31) != 0;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 8; ++y)
        for (int64_t x = 0; x < 8; ++x) {
          const int64_t sy = y + dy, sx = (flip ? 7 - x : x) + dx;
          const float want = sy < 0 || sy >= 8 || sx < 0 || sx >= 8 ? 0.0f : plain[static_cast<size_t>((c * 8 + sy) * 8 + sx)];
          ASSERT_EQ(a[static_cast<size_t>((c * 8 + y) * 8 + x)], want);
        }
  }
  EXPECT_GT(changed, 55);
  int epoch_changes = 0;  // another epoch, another crop
  for (int64_t i = 0; i < d.count; ++i) {
    augmented_sample(d, i, spec, 9, 5, b.data());
    augmented_sample(d, i, spec, 9, 4, a.data());
    epoch_changes += a != b;
  }
  EXPECT_GT(epoch_changes, 50);
  // Normalization: (x - mean) / std per channel, as two float operations.
  spec = AugmentSpec{};
  spec.mean = {0.5f, 0.25f, 0.125f};
  spec.std = {0.3f, 0.2f, 0.1f};
  normalized_sample(d, 3, spec, a.data());
  d.sample_to_float(3, plain.data());
  for (int64_t k = 0; k < n; ++k) {
    const size_t c = static_cast<size_t>(k / 64);
    const float centered = plain[static_cast<size_t>(k)] - spec.mean[c];
    ASSERT_EQ(a[static_cast<size_t>(k)], centered / spec.std[c]);
  }
  spec.std[1] = 0.0f;
  EXPECT_THROW(validate_augment(spec, 3), Error);
  spec.std[1] = 1.0f;
  EXPECT_THROW(validate_augment(spec, 1), Error);
}

TEST(DataBatches, WholeBatchesAndEval) {
  const Dataset d = small_synthetic(50);
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < 47; ++i) idx.push_back(i);
  AugmentSpec spec;
  spec.crop_padding = 1;
  const BatchPlan plan(d, idx, spec, 21, 8);
  EXPECT_EQ(plan.batches_per_epoch(), 5);  // 47 / 8, the remainder left out
  const std::vector<int64_t> order = epoch_permutation(idx, 21, 2);
  std::vector<float> sample(static_cast<size_t>(d.sample_size()));
  for (int64_t b = 0; b < 5; ++b) {
    const Batch batch = plan.batch(2, b);
    EXPECT_EQ(batch.epoch, 2);
    EXPECT_EQ(batch.index_in_epoch, b);
    ASSERT_EQ(batch.dataset_indices.size(), 8u);
    ASSERT_EQ(batch.images.size(), static_cast<size_t>(8 * d.sample_size()));
    for (int64_t k = 0; k < 8; ++k) {
      const int64_t i = order[static_cast<size_t>(b * 8 + k)];
      EXPECT_EQ(batch.dataset_indices[static_cast<size_t>(k)], i);
      EXPECT_EQ(batch.labels[static_cast<size_t>(k)], d.labels[static_cast<size_t>(i)]);
      augmented_sample(d, i, spec, 21, 2, sample.data());
      EXPECT_EQ(detnn::test::first_bit_difference(sample.data(), batch.images.data() + k * d.sample_size(), sample.size()), -1);
    }
  }
  EXPECT_THROW(plan.batch(2, 5), Error);
  EXPECT_THROW(BatchPlan(d, idx, spec, 21, 48), Error);
  EXPECT_THROW(BatchPlan(d, {0, 50}, spec, 21, 1), Error);

  const EvalBatches eval(d, {4, 2, 9, 7, 1}, spec, 2);
  ASSERT_EQ(eval.size(), 3);
  const Batch last = eval.batch(2);
  EXPECT_EQ(last.dataset_indices, (std::vector<int64_t>{1}));
  EXPECT_EQ(last.epoch, -1);
  d.sample_to_float(1, sample.data());  // no augmentation, no normalization configured
  EXPECT_EQ(detnn::test::first_bit_difference(sample.data(), last.images.data(), sample.size()), -1);
  EXPECT_EQ(eval.batch(0).dataset_indices, (std::vector<int64_t>{4, 2}));
}

std::vector<Batch> drain(Prefetcher& p) {
  std::vector<Batch> out;
  while (std::optional<Batch> b = p.next()) out.push_back(std::move(*b));
  return out;
}

TEST(DataPrefetcher, ThreadCountNeverChangesBatches) {
  const Dataset d = small_synthetic(90);
  std::vector<int64_t> idx(90);
  std::iota(idx.begin(), idx.end(), 0);
  AugmentSpec spec;
  spec.crop_padding = 2;
  spec.horizontal_flip = true;
  spec.mean = {0.5f, 0.5f, 0.5f};
  spec.std = {0.25f, 0.25f, 0.25f};
  const BatchPlan plan(d, idx, spec, 77, 16);  // 5 batches per epoch
  std::vector<Batch> reference;
  for (int64_t e = 0; e < 3; ++e)
    for (int64_t b = 0; b < 5; ++b) reference.push_back(plan.batch(e, b));
  for (int threads : {1, 2, 7}) {
    Prefetcher p(plan, 0, 0, 3, {threads, 3});
    const std::vector<Batch> got = drain(p);
    ASSERT_EQ(got.size(), reference.size()) << threads;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].epoch, reference[k].epoch);
      EXPECT_EQ(got[k].index_in_epoch, reference[k].index_in_epoch);
      EXPECT_EQ(got[k].dataset_indices, reference[k].dataset_indices);
      EXPECT_EQ(got[k].labels, reference[k].labels);
      ASSERT_EQ(detnn::test::first_bit_difference(got[k].images.data(), reference[k].images.data(), got[k].images.size()), -1)
          << threads << " threads, batch " << k;
    }
  }
  // Resume in the middle of epoch 1.
  Prefetcher resumed(plan, 1, 3, 3, {2, 2});
  const std::vector<Batch> rest = drain(resumed);
  ASSERT_EQ(rest.size(), 7u);
  EXPECT_EQ(rest[0].images, reference[8].images);
  EXPECT_EQ(rest[6].dataset_indices, reference[14].dataset_indices);
  // Stopped early: the destructor joins workers that are blocked on a full window.
  { Prefetcher early(plan, 0, 0, 100, {7, 4}); ASSERT_TRUE(early.next()); }
  // Evaluation batches in order.
  const EvalBatches eval(d, {5, 6, 7, 8, 9}, spec, 2);
  Prefetcher pe(eval, {3, 2});
  const std::vector<Batch> ev = drain(pe);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[2].dataset_indices, (std::vector<int64_t>{9}));
}

// A worker's exception reaches the consumer at that batch, after the batches before it.
TEST(DataPrefetcher, WorkerExceptionsReachTheConsumer) {
  const Dataset d = small_synthetic(20);
  std::vector<int64_t> idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  const BatchPlan plan(d, idx, {}, 1, 4);
  // Epochs up to 2^32 - 1 are fine, the shuffle rejects 2^32: resume just before it.
  Prefetcher q(plan, UINT32_MAX, 3, UINT32_MAX + int64_t{2}, {3, 4});
  ASSERT_TRUE(q.next());
  ASSERT_TRUE(q.next());
  EXPECT_THROW(q.next(), Error);  // epoch 2^32, batch 0
  EXPECT_THROW(q.next(), Error);  // and again
}

}  // namespace
}  // namespace detnn::data
