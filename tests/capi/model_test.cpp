// Broken model files (tests/data/model-corpus/, expectations in its expected.txt): each one is a
// non-OK status from the C API with a message naming the file and the JSON path or byte offset.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "support/capi_test_util.h"

namespace detnn::capi_test {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(DETNN_TEST_DATA_DIR) / "model-corpus";

TEST(CApiModelCorpus, EveryBrokenModelFileIsAnErrorNamingThePath) {
  std::ifstream in(kCorpus / "expected.txt");
  ASSERT_TRUE(in.good()) << "cannot read " << (kCorpus / "expected.txt");
  std::set<std::string> listed;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << "expected.txt line without a tab: " << line;
    const std::string file = line.substr(0, tab), expected = line.substr(tab + 1);
    listed.insert(file);
    SCOPED_TRACE(file);
    const std::string path = (kCorpus / file).string();
    detnn_model* model = nullptr;
    const detnn_status st = detnn_model_load_file(path.c_str(), &model);
    EXPECT_EQ(st, DETNN_ERROR_FORMAT) << describe(st);
    EXPECT_EQ(model, nullptr);
    detnn_model_destroy(model);
    const std::string message = detnn_last_error();
    EXPECT_NE(message.find(expected), std::string::npos) << "message: " << message << "\nexpected: " << expected;
    EXPECT_NE(message.find(file), std::string::npos) << "the message should name the file: " << message;

    // The same document from memory: the same message, under the name "model JSON".
    std::ifstream f(path, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    EXPECT_EQ(detnn_model_load_json(text.str().c_str(), &model), DETNN_ERROR_FORMAT);
    EXPECT_NE(std::string(detnn_last_error()).find(expected), std::string::npos) << detnn_last_error();
  }
  EXPECT_EQ(listed.size(), 8u);
  for (const auto& entry : std::filesystem::directory_iterator(kCorpus))
    if (entry.path().extension() == ".json")
      EXPECT_EQ(listed.count(entry.path().filename().string()), 1u) << entry.path() << " is not in expected.txt";
}

TEST(CApiModelCorpus, AMissingFileIsAnIoError) {
  detnn_model* model = nullptr;
  const std::string path = (kCorpus / "no-such-file.json").string();
  EXPECT_EQ(detnn_model_load_file(path.c_str(), &model), DETNN_ERROR_IO);
  EXPECT_NE(std::string(detnn_last_error()).find("no-such-file.json"), std::string::npos);
}

}  // namespace
}  // namespace detnn::capi_test
