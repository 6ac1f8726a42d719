// trainer report in a real browser: Debian's chromium, headless, opens the report of two runs and
// a sweep and takes a screenshot (label slow; skipped where chromium is not installed). The PNG
// must be a page that drew something: not one flat colour, with the plots' colours in it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "data/stb_decoder.h"
#include "support/trainer_runner.h"

namespace detnn::testing {
namespace {

namespace fs = std::filesystem;

TEST(TrainerReportBrowser, ChromiumRendersTheReport) {
  if (std::system("command -v chromium > /dev/null 2>&1") != 0) GTEST_SKIP() << "chromium is not installed";
  const fs::path dir = fresh_temp_dir("report-browser");
  const fs::path model = dir / "model.json";
  std::ofstream(model) << R"({"name": "browser_small", "input": [1, 8, 8],
  "layers": [{"type": "conv2d", "out_channels": 4, "kernel": 3, "padding": 1}, {"type": "relu"},
             {"type": "flatten"}, {"type": "linear", "out_features": 4}],
  "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
  "data": {"format": "synthetic", "train": {"count": 256, "seed": 3, "shape": [1, 8, 8]}, "validation": {"count": 64},
           "classes": 4},
  "training": {"epochs": 3, "batch_size": 32, "chunk_size": 8, "seed": 5, "log_every": 2}})";
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "a").string()).status, 0);
  ASSERT_EQ(run_trainer("--model " + model.string() + " --run-dir " + (dir / "b").string() + " --seed 7").status, 0);
  const fs::path html = dir / "report.html";
  ASSERT_EQ(run_trainer("report " + (dir / "a").string() + " " + (dir / "b").string() + " -o " + html.string()).status, 0);
  const fs::path png = dir / "report.png";
  const std::string cmd = "timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars "
                          "--screenshot=" + png.string() + " --window-size=1280,1600 file://" + html.string() +
                          " > " + (dir / "chromium.log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << bytes_of(dir / "chromium.log");
  const std::string bytes = bytes_of(png);
  ASSERT_FALSE(bytes.empty());
  const data::StbPixels image =
      data::stb_decode(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int>(bytes.size()));
  ASSERT_TRUE(image.hwc) << data::stb_failure_reason();
  EXPECT_EQ(image.width, 1280);
  EXPECT_EQ(image.height, 1600);
  // Count the distinct colours, and look for the first two runs' line colours (#1f77b4, #d62728).
  std::set<uint32_t> colours;
  bool blue = false, red = false;
  const int c = image.channels;
  for (int i = 0; i < image.width * image.height; ++i) {
    const uint8_t* p = image.hwc.get() + static_cast<size_t>(i) * c;
    colours.insert(static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2]);
    blue = blue || (p[0] == 0x1f && p[1] == 0x77 && p[2] == 0xb4);
    red = red || (p[0] == 0xd6 && p[1] == 0x27 && p[2] == 0x28);
  }
  EXPECT_GT(colours.size(), 50u);
  EXPECT_TRUE(blue);
  EXPECT_TRUE(red);
}

}  // namespace
}  // namespace detnn::testing
